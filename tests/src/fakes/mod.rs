//! Fake servers for services the test machine cannot reach. Each implements the real
//! protocol, including its error codes; none accepts anything blindly.

pub mod alipay;
pub mod china_time;
pub mod web_push;
pub mod wechat;
pub mod wechat_pay;
pub mod wechat_phone;

/// A notification a fake has built and signed but not sent: benchmarks send it themselves, so
/// that only the receiving side is timed.
#[derive(Debug, Clone)]
pub struct PreparedNotification {
    pub url: String,
    /// Headers besides the content type.
    pub headers: Vec<(String, String)>,
    pub content_type: &'static str,
    pub body: String,
}
