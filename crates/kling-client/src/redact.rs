//! What of a server's words an error may show: URLs without their query, and short
//! snippets of bodies with whitespace collapsed and anything that looks like a secret
//! (the client's own credentials, signatures, `Authorization` values, long tokens)
//! replaced by `…`.

use base64::Engine as _;
use secrecy::{ExposeSecret as _, SecretString};

use crate::config::Credentials;

/// How many characters of a body an error shows.
pub(crate) const SNIPPET_CHARS: usize = 120;
/// The longest reason (the API's own `reason`) an error shows whole.
pub(crate) const REASON_CHARS: usize = 500;
/// A run of token characters at least this long, with letters and digits, is hidden.
const LONG_TOKEN: usize = 32;
/// Names whose value is hidden in `name=value`, `"name": "value"` and `Name: value`.
const SENSITIVE: [&str; 11] = [
    "authorization",
    "signature",
    "token",
    "secret",
    "password",
    "credential",
    "policy",
    "key-pair-id",
    "api-key",
    "apikey",
    "cookie",
];
/// Words after which a credential follows (`Bearer abc…`, `Basic dXNlcjpwYXNz`).
const SCHEMES: [&str; 2] = ["bearer", "basic"];
/// What a hidden value becomes.
const HIDDEN: &str = "…";

/// A URL without its query (where signatures live) and fragment, for logs and errors.
///
/// ```
/// let url = "https://cdn.example/a.mp4?Policy=p&Key-Pair-Id=k&Signature=s";
/// assert_eq!(kling_client::redact(url), "https://cdn.example/a.mp4?…");
/// ```
pub fn redact(url: &str) -> String {
    match url.find(['?', '#']) {
        Some(at) => format!("{}?…", url.get(..at).unwrap_or_default()),
        None => url.to_owned(),
    }
}

/// Hides secrets in text a server sent before it goes into an error.
#[derive(Clone, Debug, Default)]
pub(crate) struct Redactor {
    /// The client's own key, secret and Basic value: hidden should a server echo them.
    own: Vec<SecretString>,
}

impl Redactor {
    /// A redactor that also hides these credentials.
    pub(crate) fn new(credentials: &Credentials) -> Self {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            credentials.key(),
            credentials.secret()
        ));
        let own = [credentials.key(), credentials.secret(), &basic]
            .into_iter()
            // A one-letter "secret" would blank every such letter; real ones are long.
            .filter(|secret| secret.chars().count() >= 4)
            .map(|secret| SecretString::from(secret.to_owned()))
            .collect();
        Self { own }
    }

    /// `text` fit for an error: whitespace collapsed, secrets hidden, and at most
    /// `limit` characters (then `…`).
    pub(crate) fn clean(&self, text: &str, limit: usize) -> String {
        let mut text = text.to_owned();
        for secret in &self.own {
            text = text.replace(secret.expose_secret(), HIDDEN);
        }
        let mut words = Vec::new();
        let mut hide_next = false;
        for word in text.split_whitespace() {
            let bare = word.trim_matches(|char: char| !is_token_char(char));
            if hide_next && looks_like_credential(bare) {
                words.push(word.replace(bare, HIDDEN));
                hide_next = false;
                continue;
            }
            let name = word
                .trim_matches(|char: char| matches!(char, '"' | '\'' | ':' | '=' | '{' | ',' | '('))
                .to_ascii_lowercase();
            hide_next = SCHEMES.contains(&name.as_str()) || is_sensitive(&name);
            words.push(clean_word(word));
        }
        let text = words.join(" ");
        if text.chars().count() <= limit {
            return text;
        }
        let mut cut: String = text.chars().take(limit).collect();
        cut.push('…');
        cut
    }
}

/// One word: URLs lose their query, sensitive values and long tokens are hidden.
fn clean_word(word: &str) -> String {
    let mut out = String::new();
    let mut rest = word;
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(at) = ["https://", "http://"]
            .iter()
            .filter_map(|scheme| lower.find(scheme))
            .min()
        else {
            out.push_str(&hide_tokens(&hide_values(rest)));
            return out;
        };
        let (before, url) = rest.split_at(at);
        out.push_str(&hide_tokens(&hide_values(before)));
        let end = url
            .find(['"', '\'', '<', '>', '(', ')', '[', ']', '{', '}', ',', '\\'])
            .unwrap_or(url.len());
        let (url, after) = url.split_at(end);
        out.push_str(&redact(url));
        rest = after;
    }
}

/// `name=value` and `"name":"value"` with a sensitive name: the value becomes `…`.
fn hide_values(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, char)) = chars.next() {
        out.push(char);
        if !matches!(char, '=' | ':') {
            continue;
        }
        let before = text
            .get(..at)
            .unwrap_or_default()
            .trim_end_matches(['"', '\'']);
        let name_start = before
            .char_indices()
            .rev()
            .take_while(|(_, char)| char.is_ascii_alphanumeric() || matches!(char, '-' | '_'))
            .last()
            .map_or(before.len(), |(at, _)| at);
        let name = before
            .get(name_start..)
            .unwrap_or_default()
            .to_ascii_lowercase();
        if name.is_empty() || !is_sensitive(&name) {
            continue;
        }
        if let Some((_, quote @ ('"' | '\''))) = chars.peek().copied() {
            out.push(quote);
            chars.next();
        }
        let mut hid = false;
        while let Some((_, next)) = chars.peek().copied() {
            if matches!(
                next,
                '&' | ';' | ',' | '"' | '\'' | '}' | ']' | ')' | '<' | '>'
            ) {
                break;
            }
            hid = true;
            chars.next();
        }
        if hid {
            out.push_str(HIDDEN);
        }
    }
    out
}

/// Runs of token characters that look like a key or a signature (long, with letters
/// and digits) become `…`.
fn hide_tokens(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let long = run.chars().count() >= LONG_TOKEN
            && run.chars().any(|char| char.is_ascii_digit())
            && run.chars().any(|char| char.is_ascii_alphabetic());
        out.push_str(if long { HIDDEN } else { run });
        run.clear();
    };
    for char in text.chars() {
        if is_token_char(char) {
            run.push(char);
        } else {
            flush(&mut run, &mut out);
            out.push(char);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Characters of base64, base64url and hex tokens.
fn is_token_char(char: char) -> bool {
    char.is_ascii_alphanumeric() || matches!(char, '+' | '/' | '=' | '_' | '-')
}

/// The word after `Bearer` or `Authorization:`, if it is one: token characters (and
/// dots, for JWTs), and long enough not to be an ordinary word (`Basic plan`).
fn looks_like_credential(word: &str) -> bool {
    word.chars().count() >= 8 && word.chars().all(|char| is_token_char(char) || char == '.')
}

fn is_sensitive(name: &str) -> bool {
    SENSITIVE.iter().any(|sensitive| name.ends_with(sensitive))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(&Credentials::new("key_live_1234", "s3cr3t-value"))
    }

    #[track_caller]
    fn check(text: &str, expected: &str) {
        assert_eq!(redactor().clean(text, SNIPPET_CHARS), expected, "{text}");
    }

    #[test]
    fn snippets_hide_what_looks_secret() {
        check(
            "<html>\n  <body>Bad   gateway</body>\n</html>",
            "<html> <body>Bad gateway</body> </html>",
        );
        check(
            "see https://cdn.example/a.mp4?Policy=p&Signature=abc!",
            "see https://cdn.example/a.mp4?…",
        );
        check(
            r#"{"url":"https://cdn.example/a.mp4?Signature=abc"}"#,
            r#"{"url":"https://cdn.example/a.mp4?…"}"#,
        );
        check("echo key_live_1234:s3cr3t-value", "echo …:…");
        check(
            "Authorization: Basic a2V5X2xpdmVfMTIzNDpzM2NyM3QtdmFsdWU=",
            "Authorization: Basic …",
        );
        check(
            "Authorization: Bearer eyJhbGciOi.eyJzdWIiOi.SflKxwRJSM",
            "Authorization: Bearer …",
        );
        check(
            r#"{"authorization": "Bearer abcdefgh12"}"#,
            r#"{"authorization": "Bearer …"}"#,
        );
        check("Signature=abc&x=1", "Signature=…&x=1");
        check("éSignature=abc", "éSignature=…");
        check(
            r#"{"Signature":"abc","ok":1}"#,
            r#"{"Signature":"…","ok":1}"#,
        );
        check("token 0123456789abcdef0123456789abcdef0", "token …");
        check("sha 0123456789abcdef0123456789abcdef0.", "sha ….");
        // Ordinary words stay.
        check(
            "Your Basic plan does not include this model",
            "Your Basic plan does not include this model",
        );
        check(
            "job job_0123456789abc not found",
            "job job_0123456789abc not found",
        );
        let long = "word ".repeat(40);
        let cut = redactor().clean(&long, SNIPPET_CHARS);
        assert_eq!(cut.chars().count(), SNIPPET_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    proptest! {
        #![proptest_config(crate::fuzz_config())]

        #[test]
        fn fuzz_snippets_never_show_a_secret(
            before in any::<String>(),
            after in any::<String>(),
            which in 0usize..4,
            limit in 0usize..200,
        ) {
            let secret = ["key_live_1234", "s3cr3t-value", "Signature=SIGNED0value", "Bearer abcdefgh12345"][which];
            // Own credentials and `name=value` are found anywhere; a `Bearer` word only
            // when it stands alone.
            let text = if which < 3 {
                format!("{before}{secret} {after}")
            } else {
                format!("{before} {secret} {after}")
            };
            let shown = redactor().clean(&text, limit);
            prop_assert!(shown.chars().count() <= limit + 1);
            for private in ["key_live_1234", "s3cr3t-value", "SIGNED0value", "abcdefgh12345"] {
                prop_assert!(!shown.contains(private), "{text:?} shows {private}: {shown:?}");
            }
        }
    }
}
