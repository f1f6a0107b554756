//! The language of messages: zh-CN by default, English when `Accept-Language` prefers it.
//! The request middleware sets it once per request; errors read it when they are built.

tokio::task_local! {
    static LANG: Lang;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    ZhCn,
    En,
}

impl Lang {
    /// Picks the supported language with the highest q-value; ties keep header order.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let Some(header) = header else { return Lang::ZhCn };
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
            let lang = if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else if tag == "zh" || tag.starts_with("zh-") || tag == "*" {
                Lang::ZhCn
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::ZhCn, |(_, l)| l)
    }

    /// The language of the request being served (zh-CN outside a request).
    pub fn current() -> Self {
        LANG.try_with(|l| *l).unwrap_or(Lang::ZhCn)
    }

    /// Runs `fut` with `self` as the current language.
    pub async fn scope<F: std::future::Future>(self, fut: F) -> F::Output {
        LANG.scope(self, fut).await
    }

    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        LANG.sync_scope(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates() {
        assert_eq!(Lang::from_accept_language(None), Lang::ZhCn);
        assert_eq!(Lang::from_accept_language(Some("en")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("zh-CN,zh;q=0.9,en;q=0.8")), Lang::ZhCn);
        assert_eq!(Lang::from_accept_language(Some("fr, en;q=0.5")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("en;q=0.2, zh-TW;q=0.8")), Lang::ZhCn);
        assert_eq!(Lang::from_accept_language(Some("de")), Lang::ZhCn);
    }
}
