//! The one error shape of the API, `{code, message, field}`, with stable codes. Messages are
//! zh-CN by default and English on request. A 500's cause is logged, never sent.

use poem::http::StatusCode;
use poem_openapi::{payload::Json, ApiResponse, Object};

use crate::{
    documents::DocumentError,
    domain::ValueError,
    i18n::Lang,
    services::{
        admins::AdminError, payment_accounts::PaymentAccountError, sessions::SessionError, tenants::TenantError,
        tokens::TokenError, users::UserError, wechat::WechatError,
    },
};

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal, $zh:literal, $en:literal;)*) => {
        /// Every error code the API can answer with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),* }
            }

            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status),* }
            }

            pub fn message(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((ErrorCode::$variant, Lang::ZhCn) => $zh, (ErrorCode::$variant, Lang::En) => $en),*
                }
            }
        }
    };
}

error_codes! {
    InvalidRequest = "invalid_request", 400, "请求格式不正确", "The request is malformed";
    FieldWrongType = "field_wrong_type", 400, "字段类型不正确", "A field has the wrong JSON type";
    FieldMissing = "field_missing", 400, "缺少必填字段", "A required field is missing";
    FieldTooLong = "field_too_long", 400, "字段内容过长", "A field is longer than allowed";
    TooManyItems = "too_many_items", 400, "列表项数超过上限", "A list has more items than allowed";
    ValueOutOfRange = "value_out_of_range", 400, "数值超出允许范围", "A number is outside the allowed range";
    IdempotencyKeyReused = "idempotency_key_reused", 409, "该幂等键已用于另一项变更", "This idempotency key was already used for a different change";
    PagesNotInDocument = "pages_not_in_document", 422, "所选页码不在该文档的页数范围内", "The page ranges select no page of this document";
    InconsistentValues = "inconsistent_values", 422, "各字段取值彼此矛盾", "The values do not fit together";
    AmountNotAllowed = "amount_not_allowed", 422, "此操作不接受该金额：调整金额不能为 0，赠送金额必须为正数", "This amount is not allowed here: an adjustment cannot be 0 and a gift must be positive";
    AmountOutOfRange = "amount_out_of_range", 400, "金额超出允许范围", "An amount is outside the allowed range";
    DuplicateJob = "duplicate_job", 400, "同一作业不能重复选择", "The same job was chosen more than once";
    InvalidEnterpriseCode = "invalid_enterprise_code", 400, "企业标识应为 3-32 位字母、数字、“-”或“_”", "Enterprise code must be 3-32 letters, digits, '-' or '_'";
    InvalidPhone = "invalid_phone", 400, "手机号格式不正确", "Not a valid mobile phone number";
    InvalidUsername = "invalid_username", 400, "用户名应为 3-32 位字母、数字、“_”“.”或“-”，且不能全为数字", "User name must be 3-32 letters, digits, '_', '.' or '-', and not only digits";
    WeakPassword = "weak_password", 400, "密码应为 8-128 位，且同时包含字母和数字", "Password must be 8-128 characters with at least one letter and one digit";
    InvalidName = "invalid_name", 400, "名称应为 1-64 个可打印字符", "Name must be 1-64 printable characters";
    InvalidWechatAppId = "invalid_wechat_app_id", 400, "微信 AppID 格式不正确（wx 开头，共 18 位）", "Not a WeChat AppID (wx followed by 16 letters or digits)";
    InvalidWechatAppSecret = "invalid_wechat_app_secret", 400, "微信 AppSecret 格式不正确", "Not a WeChat AppSecret";
    InvalidValue = "invalid_value", 400, "取值不在允许范围内", "Value is not one of the allowed values";
    InvalidCopies = "invalid_copies", 400, "份数应为 1-99", "Copies must be 1-99";
    InvalidPagesPerSheet = "invalid_pages_per_sheet", 400, "每张纸的页数只能是 1、2 或 4", "Pages per sheet must be 1, 2 or 4";
    InvalidPageRanges = "invalid_page_ranges", 400, "页码范围格式应如 1-3,5,8-", "Page ranges look like 1-3,5,8-";
    InvalidAmount = "invalid_amount", 400, "金额应为非负整数（单位：分）", "Amounts are whole, non-negative numbers of fen";
    InvalidMac = "invalid_mac", 400, "MAC 地址格式不正确（应为 6 组十六进制数，如 00:1B:2C:3D:4E:5F）", "Not a MAC address (six hex pairs, e.g. 00:1B:2C:3D:4E:5F)";
    IllegalMac = "illegal_mac", 400, "非法的 MAC 地址（如 00-00-00-00-00-00）：请检查打印机端口是否为标准 TCP/IP 端口，以及网关电脑能否访问该打印机", "Illegal MAC address (such as 00-00-00-00-00-00): check that the printer's port is a standard TCP/IP port and that the gateway PC can reach the printer";
    InvalidMeterInterval = "invalid_meter_interval", 400, "抄表间隔应为 1-1440 分钟", "The meter-reading interval must be 1-1440 minutes";
    InvalidCoordinates = "invalid_coordinates", 400, "纬度应在 -90 到 90 之间，经度应在 -180 到 180 之间", "Latitude must be -90..90 and longitude -180..180";
    InvalidReleaseId = "invalid_release_id", 400, "释放请求编号应为 8-64 位字母、数字、“-”或“_”", "The release id must be 8-64 letters, digits, '-' or '_'";
    InvalidFileName = "invalid_file_name", 400, "文件名应为 1-120 个可打印字符", "A file name must be 1-120 printable characters";
    ScanDisabled = "scan_disabled", 409, "该打印点未开启扫描", "Scanning is not enabled at this print point";
    ScanSessionBusy = "scan_session_busy", 409, "另一位用户正在该打印点扫描，请稍后再试", "Someone else is scanning at this print point; try again in a few minutes";
    ScanSessionClosed = "scan_session_closed", 409, "扫描会话已结束", "The scan session has ended";
    ScanUnpaid = "scan_unpaid", 409, "该扫描件尚未付费，请先支付", "This scan is not paid for yet; pay for it first";
    EnrolmentInvalid = "enrolment_invalid", 422, "网关注册码无效、已使用或已过期，请在管理后台重新生成", "The gateway enrolment token is unknown, used or expired; create a new one in the console";
    FileEmpty = "file_empty", 422, "文件为空", "The file is empty";
    FileTypeNotAllowed = "file_type_not_allowed", 422, "不能打印可执行文件或压缩包", "Executables and archives cannot be printed";
    UnsupportedFileType = "unsupported_file_type", 422, "不支持的文件类型，请上传 PDF、图片、文本或 Office 文档", "Unsupported file type; upload a PDF, an image, text or an Office document";
    FileCorrupt = "file_corrupt", 422, "文件已损坏或无法读取", "The file is corrupt or unreadable";
    PdfEncrypted = "pdf_encrypted", 422, "PDF 已加密或设置了密码，请去除密码后重新上传", "The PDF is encrypted or password-protected; remove the password and upload again";
    ZipBomb = "document_unpacks_too_large", 422, "文档解压后过大，已拒绝", "The document unpacks to more than allowed and was refused";
    TooManyPages = "too_many_pages", 422, "文档页数超过上限", "The document has more pages than allowed";
    ConversionTimeout = "conversion_timeout", 422, "文档转换超时，已停止", "Converting the document took too long and was stopped";
    ConversionFailed = "conversion_failed", 422, "文档转换失败", "The document could not be converted";
    MissingFileName = "missing_file_name", 400, "请提供文件名", "Give the file a name";
    UnknownReference = "unknown_reference", 422, "引用的对象不存在或无权访问", "The referenced object does not exist or is out of your scope";
    MissingCredentials = "missing_credentials", 422, "请填写用户名或手机号及密码，或使用微信注册", "Give a user name or phone number with a password, or register with WeChat";
    RegionsMismatch = "regions_mismatch", 422, "区域管理员必须分配至少一个区域，其他角色不能分配区域", "Region admins need at least one region, and only region admins have regions";
    WrongPassword = "wrong_password", 422, "当前密码不正确", "The current password is wrong";
    PasswordUnchanged = "password_unchanged", 422, "新密码不能与当前密码相同", "The new password must differ from the current one";
    RegistrationTokenInvalid = "registration_token_invalid", 422, "微信注册凭证无效或已过期，请重新微信登录", "WeChat registration token is invalid or expired; sign in with WeChat again";
    WechatCodeInvalid = "wechat_code_invalid", 422, "微信授权码无效（40029），请重新授权", "WeChat code is invalid (40029); authorise again";
    WechatCodeUsed = "wechat_code_used", 422, "微信授权码已被使用（40163），请重新授权", "WeChat code was already used (40163); authorise again";
    Unauthenticated = "unauthenticated", 401, "请先登录", "Sign in first";
    TokenExpired = "token_expired", 401, "登录已过期，请刷新或重新登录", "Access token expired; refresh it or sign in again";
    SessionRevoked = "session_revoked", 401, "会话已退出，请重新登录", "The session was signed out; sign in again";
    InvalidCredentials = "invalid_credentials", 401, "账号或密码错误", "Wrong login or password";
    RefreshTokenInvalid = "refresh_token_invalid", 401, "刷新凭证无效或已过期，请重新登录", "Refresh token is invalid or expired; sign in again";
    RefreshTokenReused = "refresh_token_reused", 401, "检测到刷新凭证被重复使用，已退出该会话，请重新登录", "Refresh token reuse detected; the session was revoked, sign in again";
    GatewayUnauthenticated = "gateway_unauthenticated", 401, "网关凭证无效或已吊销，请重新注册网关", "The gateway credential is unknown or revoked; enrol the gateway again";
    Forbidden = "forbidden", 403, "没有执行此操作的权限", "You are not allowed to do this";
    AdminRequired = "admin_required", 403, "需要管理员账号", "An admin account is required";
    UserRequired = "user_required", 403, "需要用户账号", "A user account is required";
    PasswordChangeRequired = "password_change_required", 403, "请先修改一次性密码，修改前只能修改密码或退出登录", "Change the one-time password first; until then this session may only change the password or sign out";
    AccountDisabled = "account_disabled", 403, "账号已停用", "The account is disabled";
    EnterpriseSuspended = "enterprise_suspended", 403, "企业已停用，请联系服务商", "The enterprise is suspended; contact its service provider";
    NotFound = "not_found", 404, "资源不存在", "Not found";
    EnterpriseNotFound = "enterprise_not_found", 404, "未找到该企业，请检查企业标识", "No enterprise with this code; check the enterprise code";
    GatewayNotFound = "gateway_not_found", 404, "网关不存在或不在您的管理范围内", "No such gateway, or it is out of your scope";
    MethodNotAllowed = "method_not_allowed", 405, "不支持该请求方法", "Method not allowed";
    EnterpriseCodeTaken = "enterprise_code_taken", 409, "企业标识已被使用", "Enterprise code already taken";
    AccountExists = "account_exists", 409, "该账号已注册", "An account with this login already exists";
    UsernameTaken = "username_taken", 409, "用户名已被使用", "User name already taken";
    WechatAlreadyBound = "wechat_already_bound", 409, "该微信已绑定其他账号", "This WeChat identity is already bound to another account";
    PrintPointExists = "print_point_exists", 409, "该打印点已存在（MAC 地址已注册）。请确认是否已添加过；二手机器 MAC 相同时请联系平台加入白名单", "This print point already exists (its MAC is registered). Check whether it was added before; a second-hand machine sharing a MAC needs the platform's whitelist";
    PrintPointBoundElsewhere = "print_point_bound_elsewhere", 409, "该打印点已在平台上由其他网关管理", "This print point is already on the platform under another gateway";
    WhitelistedMacNoCloudPrint = "whitelisted_mac_no_cloud_print", 409, "白名单 MAC 的打印点仅用于云运维，不能开启云打印", "Print points with a whitelisted MAC serve operations & maintenance only, not cloud print";
    GroupNameTaken = "group_name_taken", 409, "打印机组名称已存在", "A printer group with this name already exists";
    PrintPointOffline = "print_point_offline", 409, "打印点离线（网关未连接），暂时无法打印，未扣费", "The print point is offline (its gateway is not connected); nothing was charged";
    CloudPrintDisabled = "cloud_print_disabled", 409, "该打印点未开启云打印", "Cloud print is not enabled at this print point";
    InvalidDiscoveryTarget = "invalid_discovery_target", 422, "搜索目标格式不正确：应为 IP 地址或主机名，或 IP 范围（如 10.0.0.0/24 或 10.0.0.10-40）", "Not a discovery target: give an IP address or host name, or an IPv4 range such as 10.0.0.0/24 or 10.0.0.10-40";
    DiscoveryRangeTooLarge = "discovery_range_too_large", 422, "IP 范围过大：一次最多搜索 1024 个地址，请缩小范围或分段搜索", "The IP range is too large: at most 1024 addresses are searched at once; narrow it or search it in parts";
    DiscoveredMacIllegal = "discovered_mac_illegal", 422, "搜出的打印机 MAC 地址非法或未能读取（如 00-00-00-00-00-00），不能添加：请确认打印机端口正确且为标准 TCP/IP 端口，并确认网关电脑与打印机网络连通，然后重新搜索", "The discovered printer's MAC address is illegal or could not be read (such as 00-00-00-00-00-00), so it cannot be added: check that the printer's port is right and a standard TCP/IP port, and that the gateway PC can reach the printer over the network, then search again";
    DeviceWithoutPrintPath = "device_without_print_path", 409, "该打印机是按 IP 地址或 IP 范围搜出的，没有 IPP 或本地打印队列，只能用于云运维；需要云打印请以本地驱动方式搜索", "This printer was found by IP address or range without IPP or a local print queue, so it serves operations & maintenance only; search the local queues (drivers) for cloud print";
    InvalidPaymentKey = "invalid_payment_key", 422, "商户号、密钥或证书信息无法解析，或与其他字段不匹配", "The merchant id, key or certificate data cannot be parsed or does not fit the other fields";
    PayeeUnavailable = "payee_unavailable", 422, "该企业没有所选的支付对象（直属平台的企业没有服务商）", "The enterprise has no such payee (an enterprise directly under the platform has no service provider)";
    NothingToPay = "nothing_to_pay", 409, "所选作业无需付费，请直接确认打印", "The chosen jobs cost nothing: confirm the release instead";
    ReleaseAlreadyStarted = "release_already_started", 409, "该次打印已发起过支付", "A payment was already started for this release";
    BillPaymentOpen = "bill_payment_open", 409, "该账单有一笔支付正在进行，请完成或等待其过期（15 分钟）", "The bill has a payment in progress; finish it or wait until it expires (15 minutes)";
    PaymentMethodNotOffered = "payment_method_not_offered", 422, "该支付方式不支持此付款方法", "The payment provider does not offer this method";
    PaymentNotConfigured = "payment_not_configured", 409, "收款方尚未配置该支付方式", "The payee has not configured this payment provider";
    WechatAppNotServed = "wechat_app_not_served", 409, "收款方的微信支付商户号未关联此微信应用（AppID），请联系管理员在微信支付账户中添加", "The payee's WeChat Pay merchant is not bound to this WeChat app (AppID); ask an administrator to add it to the account";
    WechatIdentityRequired = "wechat_identity_required", 409, "请先通过微信登录后再使用微信支付", "Sign in through WeChat first to pay with WeChat";
    PaymentProviderUnavailable = "payment_provider_unavailable", 502, "支付服务暂时不可用，请稍后再试", "The payment service is unavailable; try again later";
    InsufficientBalance = "insufficient_balance", 409, "余额不足", "Insufficient balance";
    NothingToRelease = "nothing_to_release", 409, "没有可打印的作业", "There is no ready job to print";
    JobStateConflict = "job_state_conflict", 409, "作业当前状态不允许此操作", "The job's state does not allow this";
    AlertNotRaised = "alert_not_raised", 409, "该告警已确认或已恢复，无需再确认", "The alert is already acknowledged or resolved";
    InvalidPushSubscription = "invalid_push_subscription", 422, "推送订阅无效：需要 https 推送地址、65 字节的 p256dh 公钥和 16 字节的 auth 密钥", "Not a push subscription: it needs an https endpoint, a 65-byte p256dh key and a 16-byte auth secret";
    JobNotReady = "job_not_ready", 409, "作业尚未处理完成", "The job is not processed yet";
    WechatNotConfigured = "wechat_not_configured", 409, "该企业尚未配置微信登录", "WeChat sign-in is not configured for this enterprise";
    UnsupportedMediaType = "unsupported_media_type", 415, "不支持的内容类型", "Unsupported content type";
    LengthRequired = "length_required", 411, "上传需要提供 Content-Length", "Uploads must declare Content-Length";
    BodyTooLarge = "body_too_large", 413, "请求内容过大", "The request body is larger than allowed";
    FileTooLarge = "file_too_large", 413, "文件超过大小上限", "The file is larger than allowed";
    ConversionUnavailable = "conversion_unavailable", 415, "服务器暂不支持转换此类文件（未安装 LibreOffice）", "The server cannot convert this type of file (LibreOffice is not installed)";
    AccountLocked = "account_locked", 429, "密码错误次数过多，账号已临时锁定，请稍后再试", "Too many failed sign-ins; the account is locked for a while";
    TooManyRequests = "too_many_requests", 429, "请求过于频繁，请稍后再试", "Too many requests; try again later";
    InternalError = "internal_error", 500, "服务器内部错误，请稍后重试", "Internal server error; please retry later";
    WechatAppMisconfigured = "wechat_app_misconfigured", 502, "企业的微信 AppID 或 AppSecret 被微信拒绝，请联系管理员", "WeChat rejected the enterprise's AppID or AppSecret; contact your admin";
    WechatError = "wechat_error", 502, "微信接口返回错误，请稍后重试", "WeChat answered with an error; please retry later";
    WechatUnavailable = "wechat_unavailable", 503, "微信服务暂时不可用，请稍后重试", "WeChat is unavailable; please retry later";
    ServiceUnavailable = "service_unavailable", 503, "服务暂时不可用，请稍后重试", "Service temporarily unavailable";
    TooManyPrintingTokens = "too_many_printing_tokens", 409, "打印令牌数量已达上限，请先删除不用的令牌", "You have as many printing tokens as allowed; delete one you no longer use";
    PermissionDenied = "permission_denied", 403, "你的管理员账号没有此项权限", "Your admin account lacks the permission for this";
    ModuleNotInEdition = "module_not_in_edition", 403, "企业当前的版本不包含此功能", "The enterprise's edition does not include this module";
    EditionLimitReached = "edition_limit_reached", 409, "已达到企业版本的数量上限", "The enterprise's edition allows no more of these";
    EditionNameTaken = "edition_name_taken", 409, "已有同名的版本", "An edition with this name exists";
    BeyondProviderEdition = "beyond_provider_edition", 403, "服务商自身的版本不包含此功能，不能提供给下级", "The provider's own edition lacks this module, so it cannot offer it";
    PeriodNotOver = "period_not_over", 409, "该计费周期尚未结束", "The billing period has not ended";
    BillStateConflict = "bill_state_conflict", 409, "账单当前的状态不允许此操作", "Not possible in the bill's state";
    CreditTooLarge = "credit_too_large", 409, "红冲金额超过账单的剩余金额", "A credit note may not take back more than the bill still holds";
    GrantExceedsOwn = "grant_exceeds_own", 403, "不能授予超出自己所拥有的权限", "You cannot grant permissions you do not hold";
}

/// The body of every error response.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `invalid_phone`. Clients branch on this.
    pub code: String,
    /// Human-readable message: zh-CN by default, English when `Accept-Language` prefers it.
    pub message: String,
    /// The request field at fault, for validation errors.
    #[oai(skip_serializing_if_is_none)]
    pub field: Option<String>,
}

/// Every error response of the API.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request is invalid; `field` names the field at fault.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Not signed in, or the token is invalid, expired or revoked.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Signed in, but not allowed.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Does not exist, or is outside the caller's scope.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The path exists but not with this method.
    #[oai(status = 405)]
    MethodNotAllowed(Json<ErrorBody>),
    /// Conflicts with existing data (duplicates).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// Valid by the schema, but its content cannot be processed: an id that names nothing,
    /// a document that cannot be printed, a key that does not parse.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// The request body's content type is not accepted.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// The upload declared no length.
    #[oai(status = 411)]
    LengthRequired(Json<ErrorBody>),
    /// The upload is larger than allowed.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// Rate limited; retry after the given number of seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// An unexpected server error; the cause is logged under the request id.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// An upstream service (WeChat) refused the request.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// A dependency is unavailable; retry later.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self::build(code, None, None, 60)
    }

    pub fn field(code: ErrorCode, field: &str) -> Self {
        Self::build(code, Some(field.to_string()), None, 60)
    }

    /// With a detail appended to the message (already in the request's language).
    pub fn detailed(code: ErrorCode, field: Option<&str>, detail: &str) -> Self {
        Self::build(code, field.map(str::to_string), Some(detail), 60)
    }

    pub fn retry_after(code: ErrorCode, secs: u64) -> Self {
        Self::build(code, None, None, secs)
    }

    /// An unexpected failure: logs the cause, answers a generic message.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::InternalError)
    }

    /// `detail` (the parser's own words, in English) is appended to the message.
    fn build(code: ErrorCode, field: Option<String>, detail: Option<&str>, retry_after: u64) -> Self {
        let lang = Lang::current();
        let mut message = code.message(lang).to_string();
        if let Some(detail) = detail {
            message.push_str(if lang == Lang::ZhCn { "：" } else { ": " });
            message.push_str(detail);
        }
        let body = Json(ErrorBody { code: code.as_str().into(), message, field });
        match code.status() {
            400 => ApiError::BadRequest(body),
            405 => ApiError::MethodNotAllowed(body),
            411 => ApiError::LengthRequired(body),
            413 => ApiError::PayloadTooLarge(body),
            415 => ApiError::UnsupportedMediaType(body),
            422 => ApiError::Unprocessable(body),
            401 => ApiError::Unauthorized(body),
            403 => ApiError::Forbidden(body),
            404 => ApiError::NotFound(body),
            409 => ApiError::Conflict(body),
            429 => ApiError::TooManyRequests(body, retry_after),
            502 => ApiError::BadGateway(body),
            503 => ApiError::Unavailable(body),
            _ => ApiError::Internal(body),
        }
    }

    pub fn code(&self) -> &str {
        match self {
            ApiError::BadRequest(b)
            | ApiError::Unauthorized(b)
            | ApiError::Forbidden(b)
            | ApiError::NotFound(b)
            | ApiError::Conflict(b)
            | ApiError::MethodNotAllowed(b)
            | ApiError::UnsupportedMediaType(b)
            | ApiError::Unprocessable(b)
            | ApiError::LengthRequired(b)
            | ApiError::PayloadTooLarge(b)
            | ApiError::TooManyRequests(b, _)
            | ApiError::Internal(b)
            | ApiError::BadGateway(b)
            | ApiError::Unavailable(b) => &b.0.code,
        }
    }
}

/// The response for an error that poem or poem-openapi raised before a handler ran
/// (unparsable body, missing parameter, unknown route), in the same shape as ours.
pub fn framework_error_response(err: poem::Error) -> poem::Response {
    use poem::IntoResponse;
    use poem_openapi::error::{
        AuthorizationError, ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
    };
    let api = if let Some(e) = err.downcast_ref::<ParseParamError>() {
        ApiError::build(ErrorCode::InvalidRequest, Some(e.name.into()), Some(&e.reason), 0)
    } else if let Some(e) = err.downcast_ref::<ParsePathError>() {
        ApiError::build(ErrorCode::InvalidRequest, Some(e.name.into()), Some(&e.reason), 0)
    } else if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        ApiError::build(ErrorCode::InvalidRequest, None, Some(&e.reason), 0)
    } else if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseMultipartError>() {
        ApiError::build(ErrorCode::InvalidRequest, None, Some(&e.reason), 0)
    } else if err.is::<ContentTypeError>() {
        ApiError::new(ErrorCode::UnsupportedMediaType)
    } else if err.is::<AuthorizationError>() {
        ApiError::new(ErrorCode::Unauthenticated)
    } else if err.is_from_response() {
        // Already one of ours (ApiError converted for a security checker).
        return err.into_response();
    } else {
        match err.status() {
            StatusCode::NOT_FOUND => ApiError::new(ErrorCode::NotFound),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::new(ErrorCode::MethodNotAllowed),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(ErrorCode::UnsupportedMediaType),
            StatusCode::BAD_REQUEST => ApiError::new(ErrorCode::InvalidRequest),
            StatusCode::SERVICE_UNAVAILABLE => ApiError::new(ErrorCode::ServiceUnavailable),
            s if s.is_server_error() => ApiError::internal(&err),
            s => {
                tracing::debug!(status = %s, error = %err, "framework error");
                ApiError::new(ErrorCode::InvalidRequest)
            }
        }
    };
    api.into_response()
}

impl From<(&'static str, ValueError)> for ApiError {
    fn from((field, e): (&'static str, ValueError)) -> Self {
        let code = match e {
            ValueError::EnterpriseCode => ErrorCode::InvalidEnterpriseCode,
            ValueError::Phone => ErrorCode::InvalidPhone,
            ValueError::Username => ErrorCode::InvalidUsername,
            ValueError::WeakPassword => ErrorCode::WeakPassword,
            ValueError::Name => ErrorCode::InvalidName,
            ValueError::WechatAppId => ErrorCode::InvalidWechatAppId,
            ValueError::WechatAppSecret => ErrorCode::InvalidWechatAppSecret,
            ValueError::Copies => ErrorCode::InvalidCopies,
            ValueError::PagesPerSheet => ErrorCode::InvalidPagesPerSheet,
            ValueError::PageRanges => ErrorCode::InvalidPageRanges,
            ValueError::Amount => ErrorCode::InvalidAmount,
            ValueError::AmountOutOfRange => ErrorCode::AmountOutOfRange,
            ValueError::MacFormat => ErrorCode::InvalidMac,
            ValueError::IllegalMac => ErrorCode::IllegalMac,
            ValueError::MeterInterval => ErrorCode::InvalidMeterInterval,
            ValueError::Coordinates => ErrorCode::InvalidCoordinates,
            ValueError::FileName => ErrorCode::InvalidFileName,
            ValueError::UnknownVariant | ValueError::Limit | ValueError::Rate => ErrorCode::InvalidValue,
            ValueError::Inconsistent => ErrorCode::InconsistentValues,
            ValueError::NoPagesSelected => ErrorCode::PagesNotInDocument,
        };
        ApiError::field(code, field)
    }
}

impl From<DocumentError> for ApiError {
    fn from(e: DocumentError) -> Self {
        match e {
            DocumentError::Empty => ApiError::field(ErrorCode::FileEmpty, "file"),
            DocumentError::Executable | DocumentError::Archive => {
                ApiError::field(ErrorCode::FileTypeNotAllowed, "file")
            }
            DocumentError::Unsupported => ApiError::field(ErrorCode::UnsupportedFileType, "file"),
            DocumentError::Corrupt(_) => ApiError::field(ErrorCode::FileCorrupt, "file"),
            DocumentError::Encrypted => ApiError::field(ErrorCode::PdfEncrypted, "file"),
            DocumentError::Bomb => ApiError::field(ErrorCode::ZipBomb, "file"),
            DocumentError::TooManyPages { .. } => ApiError::field(ErrorCode::TooManyPages, "file"),
            DocumentError::ConverterUnavailable => ApiError::field(ErrorCode::ConversionUnavailable, "file"),
            DocumentError::Timeout(_) => ApiError::new(ErrorCode::ConversionTimeout),
            DocumentError::ConversionFailed(_) => ApiError::new(ErrorCode::ConversionFailed),
            e @ DocumentError::Io(_) => ApiError::internal(&e),
        }
    }
}

impl From<TenantError> for ApiError {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::NotFound => ApiError::new(ErrorCode::NotFound),
            TenantError::Forbidden => ApiError::new(ErrorCode::Forbidden),
            TenantError::Invalid { field, source } => (field, source).into(),
            TenantError::UnknownReference { field } => ApiError::field(ErrorCode::UnknownReference, field),
            // The permission or module is named in the message, as the apps show it.
            TenantError::PermissionDenied(p) => ApiError::detailed(ErrorCode::PermissionDenied, None, p.as_str()),
            TenantError::ModuleNotInEdition(m) => ApiError::detailed(ErrorCode::ModuleNotInEdition, None, m.as_str()),
            TenantError::EditionLimit { what, limit } => {
                ApiError::detailed(ErrorCode::EditionLimitReached, None, &format!("{what} ≤ {limit}"))
            }
            TenantError::EditionNameTaken => ApiError::field(ErrorCode::EditionNameTaken, "name"),
            TenantError::BeyondProviderEdition(m) => {
                ApiError::detailed(ErrorCode::BeyondProviderEdition, Some("edition_id"), m.as_str())
            }
            TenantError::CodeTaken => ApiError::field(ErrorCode::EnterpriseCodeTaken, "code"),
            TenantError::Sessions(s) => (*s).into(),
            e @ (TenantError::Secret(_) | TenantError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

impl From<PaymentAccountError> for ApiError {
    fn from(e: PaymentAccountError) -> Self {
        match e {
            PaymentAccountError::NotFound => ApiError::new(ErrorCode::NotFound),
            PaymentAccountError::Forbidden => ApiError::new(ErrorCode::Forbidden),
            PaymentAccountError::Invalid { field, source } => (field, source).into(),
            PaymentAccountError::BadKey { field, reason } => {
                let detail = super::payment_accounts::bad_key_detail(field, &reason, Lang::current());
                ApiError::detailed(ErrorCode::InvalidPaymentKey, Some(field), &detail)
            }
            PaymentAccountError::AppNotServed(_) => ApiError::new(ErrorCode::WechatAppNotServed),
            PaymentAccountError::PayeeUnavailable(_) => ApiError::field(ErrorCode::PayeeUnavailable, "payee"),
            PaymentAccountError::NotConfigured(e) => {
                let detail = super::payment_accounts::not_configured_detail(&e, Lang::current());
                ApiError::detailed(ErrorCode::PaymentNotConfigured, Some("provider"), &detail)
            }
            e @ (PaymentAccountError::Secret(_) | PaymentAccountError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

impl From<WechatError> for ApiError {
    fn from(e: WechatError) -> Self {
        match e {
            WechatError::InvalidCode => ApiError::field(ErrorCode::WechatCodeInvalid, "code"),
            WechatError::CodeUsed => ApiError::field(ErrorCode::WechatCodeUsed, "code"),
            WechatError::AppRejected(code) => {
                tracing::warn!(errcode = code, "WeChat rejected the enterprise's app credentials");
                ApiError::new(ErrorCode::WechatAppMisconfigured)
            }
            WechatError::Unavailable(reason) => {
                tracing::warn!(%reason, "WeChat unavailable");
                ApiError::new(ErrorCode::WechatUnavailable)
            }
            WechatError::Other { code, message } => {
                tracing::warn!(errcode = code, errmsg = %message, "WeChat error");
                ApiError::new(ErrorCode::WechatError)
            }
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Invalid { field, source } => (field, source).into(),
            SessionError::EnterpriseNotFound => ApiError::field(ErrorCode::EnterpriseNotFound, "enterprise_code"),
            SessionError::EnterpriseSuspended => ApiError::new(ErrorCode::EnterpriseSuspended),
            SessionError::InvalidCredentials => ApiError::new(ErrorCode::InvalidCredentials),
            SessionError::AccountLocked { retry_after_secs } => {
                ApiError::retry_after(ErrorCode::AccountLocked, retry_after_secs)
            }
            SessionError::TooManyAttempts { retry_after_secs } => {
                ApiError::retry_after(ErrorCode::TooManyRequests, retry_after_secs)
            }
            SessionError::AccountDisabled => ApiError::new(ErrorCode::AccountDisabled),
            SessionError::InvalidToken(TokenError::Expired) => ApiError::new(ErrorCode::TokenExpired),
            SessionError::InvalidToken(_) => ApiError::new(ErrorCode::Unauthenticated),
            SessionError::SessionRevoked => ApiError::new(ErrorCode::SessionRevoked),
            SessionError::RefreshInvalid => ApiError::new(ErrorCode::RefreshTokenInvalid),
            SessionError::RefreshReused => ApiError::new(ErrorCode::RefreshTokenReused),
            SessionError::WechatNotConfigured => ApiError::new(ErrorCode::WechatNotConfigured),
            SessionError::Wechat(w) => w.into(),
            SessionError::RegistrationTokenInvalid => {
                ApiError::field(ErrorCode::RegistrationTokenInvalid, "wechat_registration_token")
            }
            SessionError::WechatAlreadyBound => ApiError::new(ErrorCode::WechatAlreadyBound),
            SessionError::Tenant(t) => t.into(),
            SessionError::Cache(c) => {
                tracing::error!(error = %c, "cache unavailable");
                ApiError::new(ErrorCode::ServiceUnavailable)
            }
            e @ (SessionError::Hash(_) | SessionError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::Invalid { field, source } => (field, source).into(),
            UserError::MissingCredentials => ApiError::new(ErrorCode::MissingCredentials),
            UserError::EnterpriseNotFound => ApiError::field(ErrorCode::EnterpriseNotFound, "enterprise_code"),
            UserError::EnterpriseSuspended => ApiError::new(ErrorCode::EnterpriseSuspended),
            UserError::AccountExists { field } => ApiError::field(ErrorCode::AccountExists, field),
            UserError::RegistrationTokenInvalid => {
                ApiError::field(ErrorCode::RegistrationTokenInvalid, "wechat_registration_token")
            }
            UserError::WechatAlreadyBound => ApiError::new(ErrorCode::WechatAlreadyBound),
            UserError::WrongPassword => ApiError::field(ErrorCode::WrongPassword, "current_password"),
            UserError::PasswordUnchanged => ApiError::field(ErrorCode::PasswordUnchanged, "new_password"),
            UserError::NotFound => ApiError::new(ErrorCode::NotFound),
            UserError::Tenant(t) => t.into(),
            UserError::Session(s) => s.into(),
            e @ (UserError::Hash(_) | UserError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid { field, source } => (field, source).into(),
            AdminError::NotFound => ApiError::new(ErrorCode::NotFound),
            AdminError::Forbidden => ApiError::new(ErrorCode::Forbidden),
            AdminError::UsernameTaken => ApiError::field(ErrorCode::UsernameTaken, "username"),
            AdminError::RegionsMismatch => ApiError::field(ErrorCode::RegionsMismatch, "region_ids"),
            AdminError::UnknownReference { field } => ApiError::field(ErrorCode::UnknownReference, field),
            AdminError::WrongPassword => ApiError::field(ErrorCode::WrongPassword, "current_password"),
            AdminError::PasswordUnchanged => ApiError::field(ErrorCode::PasswordUnchanged, "new_password"),
            AdminError::EnterpriseSuspended => ApiError::new(ErrorCode::EnterpriseSuspended),
            AdminError::GrantExceedsOwn => ApiError::field(ErrorCode::GrantExceedsOwn, "permissions"),
            AdminError::Tenant(t) => t.into(),
            AdminError::Session(s) => s.into(),
            e @ (AdminError::Hash(_) | AdminError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case_and_translated() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert!(!code.message(Lang::ZhCn).is_empty() && !code.message(Lang::En).is_empty());
            assert_ne!(code.message(Lang::ZhCn), code.message(Lang::En), "{s} untranslated");
            assert!((400..600).contains(&code.status()));
        }
    }

    #[test]
    fn messages_follow_the_request_language() {
        let zh = Lang::ZhCn.sync_scope(|| ApiError::new(ErrorCode::NotFound));
        let en = Lang::En.sync_scope(|| ApiError::new(ErrorCode::NotFound));
        match (zh, en) {
            (ApiError::NotFound(zh), ApiError::NotFound(en)) => {
                assert_eq!(zh.0.message, "资源不存在");
                assert_eq!(en.0.message, "Not found");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
