//! Push protocols: Web Push to browsers' service workers (RFC 8030 delivery, RFC 8291
//! message encryption, RFC 8292 VAPID). What is pushed, to whom and when is
//! `services::push`.

pub mod web_push;
