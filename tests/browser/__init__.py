"""Browser tests: the real portal driven by Debian's Chromium through Playwright."""
