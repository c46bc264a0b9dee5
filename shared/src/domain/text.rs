//! Text from platforms, made safe to keep and to print.
//!
//! A platform names itself (LTI Dynamic Registration's `client_name`-like account name, an
//! operator's `--name`), and that name is later printed in an operator's terminal
//! (`ltictl platform list`) and shown on pages. A name carrying terminal control sequences
//! (`ESC [ 2 J` clears the screen; OSC 8 makes a hidden link; OSC 52 writes the clipboard)
//! must not reach a terminal as such. Two rules:
//!
//! - when a platform-supplied string is stored, [`strip_controls`] removes C0 and C1 control
//!   characters together with the whole ANSI escape sequences they start (CSI, OSC, DCS/SOS/
//!   PM/APC strings and two-character escapes), so `"\x1b[2Jname"` is stored as `"name"`;
//! - when text is printed for an operator, [`escape_controls`] shows any control character
//!   that is still there (records stored before this rule) as a visible `\u{..}` escape.

/// `text` without control characters (C0, DEL, C1) and without the ANSI escape sequences they
/// introduce. Other characters, including non-Latin letters and emoji, are kept.
pub fn strip_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek().copied() {
                // CSI: ESC [ parameters intermediates final (0x40..=0x7e).
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                // OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \).
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                // A two-character escape (ESC c, ESC 7, ESC ( B ...): drop the next printable
                // ASCII character as well.
                Some(next) if (' '..='~').contains(&next) => {
                    chars.next();
                }
                _ => {}
            },
            // The 8-bit forms of CSI and of the string introducers.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
        // A control character inside a CSI ends it (and is dropped with it).
        if !('\u{20}'..='\u{3f}').contains(&c) {
            return;
        }
    }
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// `text` with every control character shown as a visible escape (`\u{1b}`), for printing
/// in a terminal; everything else unchanged.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_controls_plain_text_is_unchanged() {
        assert_eq!(strip_controls("Moodle (ünï) 🎓 4.4"), "Moodle (ünï) 🎓 4.4");
    }

    #[test]
    fn strip_controls_removes_csi_sequences_whole() {
        assert_eq!(strip_controls("\u{1b}[2JEvil\u{1b}[31;1m LMS"), "Evil LMS");
        assert_eq!(strip_controls("a\u{9b}2Jb"), "ab");
    }

    #[test]
    fn strip_controls_removes_osc_strings_with_either_terminator() {
        assert_eq!(
            strip_controls("\u{1b}]8;;https://evil.example\u{7}click\u{1b}]8;;\u{1b}\\ here"),
            "click here"
        );
        assert_eq!(strip_controls("x\u{1b}]52;c;ZXZpbA==\u{7}y"), "xy");
    }

    #[test]
    fn strip_controls_removes_c0_c1_and_two_character_escapes() {
        assert_eq!(strip_controls("a\rb\nc\td\u{0}e\u{7f}f\u{85}g"), "abcdefg");
        assert_eq!(strip_controls("\u{1b}cname\u{1b}"), "name");
    }

    #[test]
    fn strip_controls_unterminated_sequence_drops_the_rest() {
        assert_eq!(strip_controls("ok\u{1b}]0;title without end"), "ok");
        assert_eq!(strip_controls("ok\u{1b}[12"), "ok");
    }

    #[test]
    fn escape_controls_makes_control_characters_visible() {
        assert_eq!(escape_controls("plain ü"), "plain ü");
        assert_eq!(escape_controls("\u{1b}[2Jx\n"), "\\u{1b}[2Jx\\u{a}");
        assert!(
            !escape_controls("a\u{9b}b\u{7}")
                .chars()
                .any(char::is_control)
        );
    }
}
