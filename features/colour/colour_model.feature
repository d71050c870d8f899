@colour @epic:balloon-colour
Feature: The colour model names a balloon's paint colour in any light
  The colour model alone, on the annotated balloons of data set 12345 (so the detector's
  mistakes do not count against it).

  Background:
    Given data set "12345"
    And the candidate colour model
    When the colour model classifies the annotated balloons

  Rule: Colours are named correctly

    @severity:critical @release-gate
    Scenario: Overall colour accuracy
      Then the colour accuracy should be at least 95%

    @severity:critical @release-gate @story:ML-1
    Scenario: Red balloons are called red
      Then the colour recall for red should be at least 95%
      And at most 3% of the balloons that are not red are called red

    @severity:normal
    Scenario: Every colour meets its bar
      Then every colour should meet these bars:
        | colour | recall | precision |
        | red    | 0.95   | 0.90      |
        | orange | 0.85   | 0.85      |
        | yellow | 0.85   | 0.85      |
        | green  | 0.85   | 0.85      |
        | blue   | 0.85   | 0.85      |
        | purple | 0.85   | 0.85      |
        | pink   | 0.85   | 0.85      |
        | white  | 0.85   | 0.85      |
