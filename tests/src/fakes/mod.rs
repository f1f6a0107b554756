//! Fake servers for services the test machine cannot reach. Each implements the real
//! protocol, including its error codes; none accepts anything blindly.

pub mod alipay;
pub mod wechat;
pub mod wechat_pay;
