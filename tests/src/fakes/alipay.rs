//! A fake Alipay open-platform gateway (being written).
