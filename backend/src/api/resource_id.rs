//! `ResourceId`: an id named in a request's list (`job_ids`, `print_point_ids`, …).
//!
//! A plain `Vec<String>` cannot declare how long its items may be (poem-openapi's element
//! validators replace the items' schema, dropping `type: string`), so lists of ids hold this
//! type instead: a string whose schema says `maxLength`, checked by the request guard like any
//! other string field.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

/// The longest id a request may name: ours are 36-character UUIDs, with room to spare.
pub const MAX_ID_LENGTH: usize = 64;

/// An id as a request names it; the service decides whether it names anything.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceId(pub String);

impl ResourceId {
    /// The ids of a list, as the services take them.
    pub fn strings(ids: Vec<ResourceId>) -> Vec<String> {
        ids.into_iter().map(|id| id.0).collect()
    }
}

impl Type for ResourceId {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new("string");
        schema.max_length = Some(MAX_ID_LENGTH);
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for ResourceId {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        // Only a JSON string is an id (the request guard has already said so with a field).
        match value {
            Some(Value::String(id)) if id.chars().count() <= MAX_ID_LENGTH => Ok(Self(id)),
            Some(Value::String(_)) => Err(ParseError::custom("id too long")),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for ResourceId {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declares_its_bound_and_keeps_to_it() {
        let MetaSchemaRef::Inline(schema) = ResourceId::schema_ref() else {
            panic!("an inline schema");
        };
        assert_eq!((schema.ty, schema.max_length), ("string", Some(MAX_ID_LENGTH)));
        let ok = ResourceId::parse_from_json(Some(Value::String("01a2".into())));
        assert_eq!(ok.ok(), Some(ResourceId("01a2".into())));
        assert!(ResourceId::parse_from_json(Some(Value::String("x".repeat(MAX_ID_LENGTH + 1)))).is_err());
        assert!(ResourceId::parse_from_json(Some(Value::from(12))).is_err());
        assert_eq!(ResourceId::strings(vec![ResourceId("a".into())]), vec!["a".to_string()]);
    }
}
