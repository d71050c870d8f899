#!/usr/bin/env bash
# Judge one detector checkpoint against the promoted one and tell CI what the exit code means.
#
#   bash docs/ci/judge-checkpoint.sh CHECKPOINT [BASELINE]
#
# BASELINE: the promoted checkpoint to compare with (default: the file before CHECKPOINT in its folder).
# RESULTS (default results/) gets the Allure results, trend.json, junit.xml and cucumber.json;
# REPORT (default report/; empty: no report, no Java needed) gets visionspec-report.html.
# Exit code: 0 every goal met, 1 a goal missed (the model is not good enough), 2 could not judge.
set -u
checkpoint=${1:?usage: judge-checkpoint.sh CHECKPOINT [BASELINE]}
baseline=${2:-}
results=${RESULTS:-results}
report=${REPORT-report}

arguments=(checkpoints "$checkpoint" --results "$results"
           --junit "$results/junit.xml" --cucumber-json "$results/cucumber.json")
[ -n "$baseline" ] && arguments+=(--baseline "$baseline")
[ -n "$report" ] && arguments+=(--report "$report")

visionspec "${arguments[@]}"
code=$?
case $code in
  0) echo "visionspec: $checkpoint meets every goal" ;;
  1) echo "visionspec: $checkpoint MISSES goals: the model is not good enough (see the report)" >&2 ;;
  *) echo "visionspec: the goals could not be judged on $checkpoint: broken data, model or step" \
          "(exit $code; see the report)" >&2
     code=2 ;;
esac
exit "$code"
