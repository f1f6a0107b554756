-- The WeChat mini-program (issue 15).

-- The WeChat application a session signed in through (its AppID; '' for a password sign-in),
-- carried across refreshes: a JSAPI payment is made under the AppID of the app the payer is in.
ALTER TABLE refresh_tokens ADD COLUMN wechat_app_id TEXT NOT NULL DEFAULT '';

-- A mini-program's subscription-message templates (订阅消息) for "printed" and "failed and
-- refunded" ('' when none): the user accepts them in the mini-program before paying, and the
-- server sends one message per acceptance.
ALTER TABLE wechat_apps ADD COLUMN printed_template_id TEXT NOT NULL DEFAULT '';
ALTER TABLE wechat_apps ADD COLUMN failed_template_id TEXT NOT NULL DEFAULT '';
