"""Local emulators of the Telegram Bot API and the X API v2, for the tests, the demo and the
sandbox: never imported by the bot itself."""
