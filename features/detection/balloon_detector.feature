@detection @epic:balloon-detector
Feature: The balloon detector finds balloons of every size, in every light
  The detector alone, judged on the product's data set 12345 and on the crowded set.

  Background:
    Given the candidate detector
    And a box counts when it overlaps by at least 50%

  Rule: Balloons are found wherever they are

    @severity:critical @release-gate
    Scenario: Recall on all balloons
      Given data set "12345"
      When the detector ingests the images
      Then the recall should be at least 0.92

    @severity:normal @release-gate @story:ML-12
    Scenario Outline: Hard balloons are found too
      Given data set "12345"
      And only the <kind> balloons
      When the detector ingests the images
      Then the recall should be at least <bar>

      Examples:
        | kind     | bar  |
        | small    | 0.85 |
        | occluded | 0.85 |
        | truncated| 0.80 |

  Rule: Crowded pictures are measured by mAP

    @severity:normal @story:ML-14
    Scenario: Box mAP on the crowded set
      Given data set "balloons-crowd"
      When the detector ingests the images
      Then the box mAP@.50 should be at least 0.85
      And the box mAP@[.50:.95] should be at least 0.45

    @severity:minor @story:ML-14
    Scenario: Counting balloons in crowded pictures
      Given data set "balloons-crowd"
      When the detector ingests the images
      Then the mean counting error per image should be at most 0.5

  Rule: Look-alikes are not balloons

    @severity:critical @release-gate @story:ML-15
    Scenario: Few detections on pictures without balloons
      Given data set "12345"
      And only the images without balloons
      When the detector ingests the images
      Then at most 1% of the images without balloons contain a detection

    @severity:normal
    Scenario: Precision at the card's confidence
      Given data set "12345"
      When the detector ingests the images
      Then the precision should be at least 0.9 with 95% confidence
