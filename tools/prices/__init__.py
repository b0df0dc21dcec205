"""`make prices`: rebuild data/prices.yaml from AWS's public Price List offer files and Spot Advisor data."""
