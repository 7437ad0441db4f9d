"""The museum's domain: questions, staff, audit. Knows neither Telegram nor X."""
