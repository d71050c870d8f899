@pipeline @team-goal @story:ML-1
Feature: Identify red balloons in images
  The product team's goal, word for word as they first wrote it: with data set 12345, find at least
  800 of the 1,000 balloons, and at least 80 of the 100 red balloons (found by the detector and called
  red by the colour model). Quotes, "model" and "images" are the team's own words.

  Scenario: The product team's goal as written
    Given "data set 12345"
    When the model ingests "images" from the data set
    Then it should find at least "800 balloons"
    When "800" to "1_000" balloons are identified
    Then the model should find at least "80 red balloons"
