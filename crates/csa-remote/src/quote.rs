//! Quoting for the remote shell. ssh joins its command words with spaces
//! and hands the line to the remote user's shell, so every word we send is
//! quoted for a POSIX shell first: nothing a user typed (a description, an
//! id, a command) is ever interpreted there.

/// `word` as one POSIX shell word that means exactly `word`: inside single
/// quotes, where nothing is special, each `'` written as `'\''`.
pub fn quote(word: &str) -> String {
    let mut quoted = String::with_capacity(word.len() + 2);
    quoted.push('\'');
    for c in word.chars() {
        match c {
            '\'' => quoted.push_str("'\\''"),
            c => quoted.push(c),
        }
    }
    quoted.push('\'');
    quoted
}

/// The remote csa binary as a shell word: quoted, except that a leading
/// `~/` stays bare so that the remote shell puts the home folder there.
pub fn quote_program(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => format!("~/{}", quote(rest)),
        None => quote(path),
    }
}

/// The command line the remote shell runs: `program` and then each word,
/// every one quoted.
pub fn command_line<S: AsRef<str>>(program: &str, words: &[S]) -> String {
    let mut line = quote_program(program);
    for word in words {
        line.push(' ');
        line.push_str(&quote(word.as_ref()));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: [&str; 12] = [
        "$(touch /tmp/pwned)",
        "`touch /tmp/pwned`",
        "; rm -rf x",
        "a\nrm -rf x",
        "it's",
        "'",
        "''\\''",
        "\"$HOME\"",
        "-oProxyCommand=touch /tmp/pwned",
        "*",
        "a && b | c > d < e & f",
        "",
    ];

    /// Runs `sh -c 'printf "%s\0" LINE'` and returns the words it printed.
    fn words_through_a_shell(line: &str) -> Vec<String> {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s\\0' {line}"))
            .output()
            .expect("sh runs");
        assert!(out.status.success(), "{line}");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut words: Vec<String> = text.split('\0').map(str::to_owned).collect();
        words.pop();
        words
    }

    #[test]
    fn hostile_words_reach_the_shell_as_they_are() {
        let line = command_line::<&str>("x", &HOSTILE).replacen("'x' ", "", 1);
        assert_eq!(words_through_a_shell(&line), HOSTILE);
    }

    #[test]
    fn quotes_are_closed_and_reopened() {
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(command_line("csa", &["a b"]), "'csa' 'a b'");
    }

    #[test]
    fn a_home_relative_program_keeps_its_tilde_bare() {
        assert_eq!(quote_program("~/bin/csa"), "~/'bin/csa'");
        assert_eq!(quote_program("/opt/c s a"), "'/opt/c s a'");
        assert_eq!(quote_program("~user/csa"), "'~user/csa'");
    }
}
