use std::fmt;

/// The class of a call's outcome (ABI.md, section 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Success.
    Ok,
    /// The database was busy or locked: retry after a short wait.
    Busy,
    /// A constraint failed.
    Constraint,
    /// The statement touches what the descriptor does not declare.
    NotAuthorized,
    /// Any other failure, including a status this SDK does not know.
    Other,
    /// The call itself was wrong: a bug in the plugin.
    Invalid,
}

impl Status {
    /// Maps a host status number to its class; unknown ones are [`Status::Other`].
    pub fn from_raw(raw: u32) -> Status {
        match raw {
            0 => Status::Ok,
            1 => Status::Busy,
            2 => Status::Constraint,
            3 => Status::NotAuthorized,
            5 => Status::Invalid,
            _ => Status::Other,
        }
    }

    /// The status's name as ABI.md spells it: `"ok"`, `"busy"`, ...
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Busy => "busy",
            Status::Constraint => "constraint",
            Status::NotAuthorized => "not_authorized",
            Status::Other => "other",
            Status::Invalid => "invalid",
        }
    }

    /// Whether a call that failed with this status may succeed if repeated
    /// after a short wait: only [`Status::Busy`].
    pub fn is_retryable(self) -> bool {
        self == Status::Busy
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed call: its [`Status`] class, the message (the host's own for a
/// failed host call, else the SDK's or the plugin's), and the context added
/// by [`Error::context`]. It displays as one line,
/// `CONTEXT ffhost STATUS: MESSAGE`, e.g.
/// `commit: ffhost busy: database is locked`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
    context: String,
}

impl Error {
    /// An error of class `status`, for a plugin's own failures.
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into(), context: String::new() }
    }

    /// The error's class.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The message: the host's, for a failed host call.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the failed work may succeed if repeated after a short wait.
    pub fn is_retryable(&self) -> bool {
        self.status.is_retryable()
    }

    /// Prefixes the error with `what: `, as Go's `fmt.Errorf("%s: %w")`
    /// does; the status is kept.
    pub fn context(mut self, what: impl AsRef<str>) -> Error {
        let what = what.as_ref();
        let mut context = String::with_capacity(what.len() + 2 + self.context.len());
        context.push_str(what);
        context.push_str(": ");
        context.push_str(&self.context);
        self.context = context;
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ffhost {}: {}", self.context, self.status, self.message)
    }
}

impl std::error::Error for Error {}

/// The SDK's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds context to the error of a [`Result`], as [`Error::context`] does.
pub trait Context<T> {
    /// Prefixes the error, if any, with `what: `.
    fn context(self, what: &str) -> Result<T>;
    /// Prefixes the error, if any, with `what(): `; `what` runs only on error.
    fn with_context<S: AsRef<str>, F: FnOnce() -> S>(self, what: F) -> Result<T>;
}

impl<T> Context<T> for Result<T> {
    fn context(self, what: &str) -> Result<T> {
        self.map_err(|e| e.context(what))
    }

    fn with_context<S: AsRef<str>, F: FnOnce() -> S>(self, what: F) -> Result<T> {
        self.map_err(|e| e.context(what()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_statuses_are_other() {
        assert_eq!(Status::from_raw(4), Status::Other);
        assert_eq!(Status::from_raw(6), Status::Other);
        assert_eq!(Status::from_raw(u32::MAX), Status::Other);
        assert_eq!(Status::from_raw(1), Status::Busy);
        assert!(Status::Busy.is_retryable() && !Status::Constraint.is_retryable());
    }

    #[test]
    fn context_reads_outermost_first() {
        let e = Error::new(Status::Busy, "database is locked").context("commit").context("reset budget a");
        assert_eq!(e.to_string(), "reset budget a: commit: ffhost busy: database is locked");
        assert_eq!(e.status(), Status::Busy);
        assert_eq!(e.message(), "database is locked");
        let r: Result<()> = Err(Error::new(Status::NotAuthorized, "no")).with_context(|| format!("step {}", 2));
        assert_eq!(r.unwrap_err().to_string(), "step 2: ffhost not_authorized: no");
    }
}
