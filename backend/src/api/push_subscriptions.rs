//! Push subscriptions (智能推送): an admin's or a user's device subscribes with what its
//! browser's `pushManager.subscribe()` gave, under the platform's VAPID key. Admins get their
//! level-1 alerts; users get their jobs' outcomes (printed; failed and refunded).

use poem_openapi::{param::Path, payload::Json, Object, OpenApi};

use super::{
    error::{ApiError, ErrorCode},
    security::AnyAuth,
    ApiTags,
};
use crate::services::push::{PushError, PushService, Recipient, Subscription, SubscriptionInput};

pub struct PushSubscriptionsApi {
    pub push: PushService,
}

/// The key a browser subscribes with.
#[derive(Debug, Object)]
pub struct VapidKeyView {
    /// The platform's VAPID public key (base64url, uncompressed P-256): pass it as
    /// `applicationServerKey` to `pushManager.subscribe()`.
    pub public_key: String,
}

/// A device's subscription as the browser gives it (`PushSubscription.toJSON()`).
#[derive(Debug, Object)]
pub struct CreatePushSubscriptionRequest {
    /// The push service's endpoint for this device (https).
    #[oai(validator(max_length = 2048))]
    pub endpoint: String,
    /// The device's keys.
    pub keys: PushKeys,
    /// A name to tell the device by ("my phone").
    #[oai(validator(max_length = 64))]
    #[oai(default)]
    pub device_name: String,
}

/// The browser's keys for message encryption (RFC 8291).
#[derive(Debug, Object)]
pub struct PushKeys {
    /// The device's P-256 public key, base64url.
    #[oai(validator(max_length = 128))]
    pub p256dh: String,
    /// The device's 16-byte auth secret, base64url.
    #[oai(validator(max_length = 64))]
    pub auth: String,
}

/// A subscribed device.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PushSubscriptionView {
    /// Subscription id.
    pub id: String,
    /// The push service's endpoint.
    pub endpoint: String,
    /// The device's name.
    pub device_name: String,
    /// When it subscribed (Unix epoch ms).
    pub created_at: i64,
    /// When a push last reached it.
    pub last_delivered_at: Option<i64>,
}

impl From<Subscription> for PushSubscriptionView {
    fn from(s: Subscription) -> Self {
        Self {
            id: s.id,
            endpoint: s.endpoint,
            device_name: s.device_name,
            created_at: s.created_at,
            last_delivered_at: s.last_delivered_at,
        }
    }
}

impl From<PushError> for ApiError {
    fn from(e: PushError) -> Self {
        match e {
            PushError::NotFound => ApiError::new(ErrorCode::NotFound),
            PushError::InvalidSubscription(_) => ApiError::new(ErrorCode::InvalidPushSubscription),
            e @ (PushError::Key(_) | PushError::Secret(_) | PushError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

fn recipient(auth: &AnyAuth) -> Recipient {
    match auth {
        AnyAuth::User(u) => Recipient::of_user(&u.0),
        AnyAuth::Admin(a) => Recipient::of_admin(&a.0),
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Operations")]
impl PushSubscriptionsApi {
    /// The platform's VAPID public key, for `pushManager.subscribe()`.
    #[oai(path = "/push/vapid-public-key", method = "get", operation_id = "push_vapid_key")]
    async fn vapid_key(&self, _auth: AnyAuth) -> Result<Json<VapidKeyView>, ApiError> {
        Ok(Json(VapidKeyView { public_key: self.push.public_key().await? }))
    }

    /// Subscribe this device to the signed-in admin's or user's pushes. The same endpoint
    /// again replaces the earlier subscription (new keys, or another account on the device).
    #[oai(path = "/push-subscriptions", method = "post", operation_id = "push_subscribe")]
    async fn subscribe(
        &self,
        auth: AnyAuth,
        body: Json<CreatePushSubscriptionRequest>,
    ) -> Result<Json<PushSubscriptionView>, ApiError> {
        let b = body.0;
        let input = SubscriptionInput {
            endpoint: b.endpoint,
            p256dh: b.keys.p256dh,
            auth: b.keys.auth,
            device_name: b.device_name.trim().to_string(),
        };
        Ok(Json(self.push.subscribe(&recipient(&auth), input).await?.into()))
    }

    /// The signed-in account's subscribed devices.
    #[oai(path = "/push-subscriptions", method = "get", operation_id = "push_subscription_list")]
    async fn list(&self, auth: AnyAuth) -> Result<Json<Vec<PushSubscriptionView>>, ApiError> {
        Ok(Json(self.push.subscriptions(&recipient(&auth)).await?.into_iter().map(Into::into).collect()))
    }

    /// Unsubscribe one of the signed-in account's devices.
    #[oai(path = "/push-subscriptions/:id", method = "delete", operation_id = "push_unsubscribe")]
    async fn unsubscribe(&self, auth: AnyAuth, id: Path<String>) -> Result<(), ApiError> {
        self.push.unsubscribe(&recipient(&auth), &id).await?;
        Ok(())
    }
}
