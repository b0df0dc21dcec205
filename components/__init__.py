"""Components of the PyAirtable platform, one concern per module."""
