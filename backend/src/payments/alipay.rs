//! Alipay open platform, RSA2 (being written).
