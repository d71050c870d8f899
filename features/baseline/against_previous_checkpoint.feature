@baseline @epic:balloon-detector @story:ML-12
Feature: Each detector checkpoint holds its ground against the previous one
  A new checkpoint is judged against the one before it on the same pictures with the same rules,
  balloon by balloon. The report lists the balloons it newly misses, the balloons it newly finds and
  its new false alarms, and gives the interval of each change.

  Background:
    Given the candidate detector
    And the previous checkpoint as the baseline
    And a box counts when it overlaps by at least 50%

  Rule: Recall does not slip from one checkpoint to the next

    @severity:critical
    Scenario: Recall on all balloons does not drop
      Given data set "12345"
      When the detector ingests the images
      Then the recall should not drop by more than 1 point against the baseline

    @severity:normal
    Scenario: No colour of balloon loses recall
      Given data set "12345"
      When the detector ingests the images
      Then no colour should lose more than 2 points of recall against the baseline

    @severity:normal
    Scenario: Small balloons keep their recall
      Given data set "12345"
      And only the small balloons
      When the detector ingests the images
      Then the recall should not drop by more than 2 points against the baseline

  Rule: Crowded pictures get better

    @severity:minor
    Scenario: Box mAP on the crowded set improves
      Given data set "balloons-crowd"
      When the detector ingests the images
      Then the box mAP@.50 should improve on the baseline
