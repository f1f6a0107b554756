//! WeChat Pay API v3 (being written).
