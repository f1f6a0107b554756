//! The multipart form of an upload: one field, `file`.
//!
//! Written out rather than derived because the derive cannot say what the server does: only
//! `file` is taken, any other field is refused (`invalid_request`), and the document has to
//! say so (`maxProperties: 1` beside `required: [file]`) for clients and fuzzers to know it.

use poem::{web::Multipart, FromRequest, Request, RequestBody};
use poem_openapi::{
    error::{ContentTypeError, ParseMultipartError},
    payload::{ParsePayload, Payload},
    registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry},
    types::{multipart::Upload, ParseFromMultipartField, Type},
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
};

use crate::api::error::{ApiError, ErrorCode};

/// A document sent as a multipart form.
#[derive(Debug)]
pub struct UploadForm {
    /// The document; its file name is kept for display.
    pub file: Upload,
}

/// A declared length over `limit` is refused (`file_too_large`) before a byte is read; the
/// limit is enforced again while reading, for bodies that declare nothing or lie.
pub fn refuse_declared_oversize(req: &Request, limit: u64) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > limit => Err(ApiError::field(ErrorCode::FileTooLarge, "file")),
        _ => Ok(()),
    }
}

fn refused(reason: String) -> poem::Error {
    ParseMultipartError { reason }.into()
}

impl Payload for UploadForm {
    const CONTENT_TYPE: &'static str = "multipart/form-data";

    fn check_content_type(content_type: &str) -> bool {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case(Self::CONTENT_TYPE)
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut file = MetaSchema::new_with_format("string", "binary");
        file.description = Some("The document; its file name is kept for display.");
        let schema = MetaSchema {
            required: vec!["file"],
            properties: vec![("file", MetaSchemaRef::Inline(Box::new(file)))],
            max_properties: Some(1),
            ..MetaSchema::new("object")
        };
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn register(registry: &mut Registry) {
        Upload::register(registry);
    }
}

impl ParsePayload for UploadForm {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let mut multipart = <Multipart as FromRequest>::from_request(request, body).await?;
        let mut file = None;
        while let Some(field) = multipart.next_field().await? {
            match field.name() {
                Some("file") if file.is_none() => {
                    let upload = Upload::parse_from_multipart(Some(field)).await;
                    file = Some(upload.map_err(|e| refused(e.into_message()))?);
                }
                Some("file") => return Err(refused("more than one `file` field".into())),
                other => return Err(refused(format!("unknown field `{}`", other.unwrap_or_default()))),
            }
        }
        file.map(|file| Self { file }).ok_or_else(|| refused("field `file` is required".into()))
    }
}

impl<'a> ApiExtractor<'a> for UploadForm {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType { content_type: Self::CONTENT_TYPE, schema: <Self as Payload>::schema_ref() }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(content_type) if Self::check_content_type(content_type) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            Some(content_type) => Err(ContentTypeError::NotSupported { content_type: content_type.to_string() }.into()),
            None => Err(ContentTypeError::ExpectContentType.into()),
        }
    }
}
