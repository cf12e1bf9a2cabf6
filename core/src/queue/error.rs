//! Errors, one type per operation (as crossbeam-channel does), so a caller matches only
//! the cases its call can produce.

use std::fmt;

/// Why [`Producer::push`](crate::Producer::push) (and its timeout / non-blocking forms)
/// did not take the frame. The caller still owns its bytes: nothing was copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushError {
    /// The queue is full and the policy is `FailFast` (or a non-blocking call was made).
    WouldBlock,
    /// The queue stayed full until the timeout passed (`Block` policy).
    Timeout,
    /// The consumer side is closed: no frame will ever be taken again.
    Closed,
    /// The frame can never fit: `len` exceeds [`Queue::max_frame_len`](crate::Producer::max_frame_len).
    TooLarge {
        /// Requested frame length in bytes.
        len: usize,
        /// Largest frame this queue accepts.
        max: usize,
    },
    /// An error reported by the stage behind the queue (the writer); the frame was not
    /// taken. See the writer's error for the cause.
    Failed,
    /// An [`Interrupt`](crate::Interrupt) the call watched was triggered while it
    /// waited; nothing was taken or refused.
    Interrupted,
}

/// Why [`Producer::reserve`](crate::Producer::reserve) gave no space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReserveError {
    /// The queue is full and the policy is `FailFast` (or a non-blocking call was made).
    WouldBlock,
    /// The queue stayed full until the timeout passed (`Block` policy).
    Timeout,
    /// The queue is full under `DropNewest` (or `DropOldest` with every queued frame in
    /// use by the consumer): the frame this reservation was for is counted as dropped
    /// with sequence number `seq`.
    Dropped {
        /// The sequence number given to the dropped frame.
        seq: u64,
    },
    /// The consumer side is closed.
    Closed,
    /// The frame can never fit.
    TooLarge {
        /// Requested frame length in bytes.
        len: usize,
        /// Largest frame this queue accepts.
        max: usize,
    },
    /// An error reported by the stage behind the queue (the writer).
    Failed,
    /// An [`Interrupt`](crate::Interrupt) the call watched was triggered while it
    /// waited; nothing was taken or refused.
    Interrupted,
}

/// Why [`Reservation::commit_len`](crate::Reservation::commit_len) refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitError {
    /// More bytes were committed than were reserved.
    TooLong {
        /// Bytes the caller tried to commit.
        len: usize,
        /// Bytes that were reserved.
        reserved: usize,
    },
}

/// Why a non-blocking pop returned nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryPopError {
    /// No frame is queued right now, but producers may still push.
    Empty,
    /// Every producer is gone (or closed) and the queue is drained, or the consumer was
    /// closed: no frame will ever arrive.
    Disconnected,
}

/// Why a pop with a timeout returned nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PopTimeoutError {
    /// No frame arrived before the timeout.
    Timeout,
    /// End of stream: producers gone and queue drained, or the consumer closed.
    Disconnected,
    /// An [`Interrupt`](crate::Interrupt) the call watched was triggered while it
    /// waited; nothing was taken or refused.
    Interrupted,
}

/// Why a blocking pop returned nothing: end of stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PopError;

/// Why a water-mark wait ended without the level falling below the low mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitError {
    /// The timeout passed first.
    Timeout,
    /// The queue was closed while waiting.
    Closed,
    /// An [`Interrupt`](crate::Interrupt) the call watched was triggered while it
    /// waited; nothing was taken or refused.
    Interrupted,
}

/// Why a queue could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The configuration is inconsistent; the message says which setting.
    InvalidConfig(String),
    /// The ring memory or the event descriptor could not be created.
    Io(std::io::Error),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::WouldBlock => f.write_str("queue is full (would block)"),
            PushError::Timeout => f.write_str("queue stayed full until the timeout"),
            PushError::Closed => f.write_str("queue is closed"),
            PushError::TooLarge { len, max } => {
                write!(f, "frame of {len} bytes can never fit (largest is {max} bytes)")
            }
            PushError::Failed => f.write_str("the writer behind the queue has failed"),
            PushError::Interrupted => f.write_str("interrupted while waiting"),
        }
    }
}

impl fmt::Display for ReserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReserveError::WouldBlock => f.write_str("queue is full (would block)"),
            ReserveError::Timeout => f.write_str("queue stayed full until the timeout"),
            ReserveError::Dropped { seq } => {
                write!(f, "queue is full: frame {seq} dropped by the overflow policy")
            }
            ReserveError::Closed => f.write_str("queue is closed"),
            ReserveError::TooLarge { len, max } => {
                write!(f, "frame of {len} bytes can never fit (largest is {max} bytes)")
            }
            ReserveError::Failed => f.write_str("the writer behind the queue has failed"),
            ReserveError::Interrupted => f.write_str("interrupted while waiting"),
        }
    }
}

impl fmt::Display for CommitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommitError::TooLong { len, reserved } => {
                write!(f, "cannot commit {len} bytes of a {reserved}-byte reservation")
            }
        }
    }
}

impl fmt::Display for TryPopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPopError::Empty => f.write_str("queue is empty"),
            TryPopError::Disconnected => f.write_str("end of stream"),
        }
    }
}

impl fmt::Display for PopTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PopTimeoutError::Timeout => f.write_str("no frame before the timeout"),
            PopTimeoutError::Disconnected => f.write_str("end of stream"),
            PopTimeoutError::Interrupted => f.write_str("interrupted while waiting"),
        }
    }
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("end of stream")
    }
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::Timeout => f.write_str("timed out waiting for the low water mark"),
            WaitError::Closed => f.write_str("queue closed while waiting"),
            WaitError::Interrupted => f.write_str("interrupted while waiting"),
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::InvalidConfig(m) => write!(f, "invalid queue configuration: {m}"),
            BuildError::Io(e) => write!(f, "cannot allocate the queue: {e}"),
        }
    }
}

impl std::error::Error for PushError {}
impl std::error::Error for ReserveError {}
impl std::error::Error for CommitError {}
impl std::error::Error for TryPopError {}
impl std::error::Error for PopTimeoutError {}
impl std::error::Error for PopError {}
impl std::error::Error for WaitError {}
impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Io(e) => Some(e),
            BuildError::InvalidConfig(_) => None,
        }
    }
}
