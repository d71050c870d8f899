@service @epic:analysis-service
Feature: Users get what we tested
  The product is a web service: users upload pictures and get the balloons it found. These goals judge
  the deployed service itself, so that a difference from the tested export (preprocessing in the app, a
  stale model, another threshold) is caught before users see it. The service is the one configured
  (the service mapping's url, or VISIONSPEC_SERVICE_URL); without one these scenarios are skipped.

  Background:
    Given the analysis service
    And data set "balloons-smoke"

  @severity:critical @release-gate
  Scenario: The service is the model we tested
    Then the service should agree with the candidate detector on at least 99% of the pictures

  @severity:normal
  Scenario: Users get the balloons
    When the detector ingests the images
    Then the recall should be at least 0.9

  @severity:normal
  Scenario: Users rarely get a balloon where there is none
    Given only the images without balloons
    When the detector ingests the images
    Then at most 5% of the images without balloons contain a detection

  @severity:normal
  Scenario: Red balloons are reported as red
    When the detector ingests the images
    Then at most 2 of the reported red balloons are not red balloons
