"""The documents made from a salon's figures: JSON, CSV, a spreadsheet, a chart, the archive.

Writers only: they take figures or salon records already read and return bytes, knowing
neither Telegram nor X nor the database.
"""
