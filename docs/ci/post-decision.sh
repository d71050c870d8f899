#!/usr/bin/env bash
# Post decision.md (the decision on the candidate checkpoint) as a comment on the pull / merge request.
#
#   bash docs/ci/post-decision.sh [DECISION_MD]        (default: results/decision.md)
#
# GitHub Actions: needs GH_TOKEN (the job's GITHUB_TOKEN with `pull-requests: write`) and PR_NUMBER; uses `gh`.
# GitLab CI: needs GITLAB_TOKEN (a project access token with `api` scope) in a merge-request pipeline;
#            uses CI_API_V4_URL, CI_PROJECT_ID and CI_MERGE_REQUEST_IID, which GitLab sets.
# Elsewhere, or without a pull / merge request, it prints the decision and posts nothing.
set -u
decision=${1:-${RESULTS:-results}/decision.md}
if [ ! -f "$decision" ]; then
  echo "visionspec: no $decision to post (did the run start?)" >&2
  exit 0
fi
if [ -n "${GITHUB_ACTIONS:-}" ] && [ -n "${PR_NUMBER:-}" ]; then
  gh pr comment "$PR_NUMBER" --body-file "$decision"
elif [ -n "${GITLAB_CI:-}" ] && [ -n "${CI_MERGE_REQUEST_IID:-}" ] && [ -n "${GITLAB_TOKEN:-}" ]; then
  python3 -c 'import json, sys; print(json.dumps({"body": open(sys.argv[1], encoding="utf-8").read()}))' "$decision" |
    curl --fail --silent --show-error --request POST --header "PRIVATE-TOKEN: $GITLAB_TOKEN" \
         --header "Content-Type: application/json" --data @- \
         "$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes" > /dev/null
else
  cat "$decision"
fi
