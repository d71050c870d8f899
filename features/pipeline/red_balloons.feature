@pipeline @release-gate @epic:red-balloons @story:ML-1
Feature: Identify red balloons in images
  With a sample of 1,000 balloons and 4,000 other images, find only the 100 red balloons
  with at least 80% accuracy. Many of the other images hold look-alikes: red balls, suns,
  round signs, kites, apples and bubbles.

  Background:
    Given data set "12345"
    And the candidate detector
    And the candidate colour model

  Rule: Balloon shapes are found

    @severity:critical
    Scenario: At least 800 of the 1,000 balloons are found
      When the detector ingests the images
      Then it should find at least 800 balloons

    @severity:critical
    Scenario: Pictures without balloons raise few false alarms
      Given only the images without balloons
      When the detector ingests the images
      Then at most 1% of the images without balloons contain a detection

  Rule: Red balloons are found and only red balloons are reported

    @severity:critical
    Scenario: At least 80 of the 100 red balloons are found
      When the detector ingests the images
      And the colour model classifies the detected balloons
      Then it should find at least 80 of the 100 red balloons

    @severity:critical
    Scenario: Few of the reported red balloons are something else
      When the detector ingests the images
      And the colour model classifies the detected balloons
      Then at most 10 of the reported red balloons are not red balloons

    @severity:normal
    Scenario: The red goal holds with 95% confidence
      When the detector ingests the images
      And the colour model classifies the detected balloons
      Then it should find at least 80% of the red balloons with 95% confidence
