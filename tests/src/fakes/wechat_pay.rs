//! A fake WeChat Pay API v3 server (being written).
