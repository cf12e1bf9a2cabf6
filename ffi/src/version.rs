//! The library's version at run time, to compare with the header's macros.

use std::ffi::c_char;

/// `MAJOR * 10000 + MINOR * 100 + PATCH` of the library that is running; compare with
/// `STREAMQ_VERSION_NUMBER` from the header the program was built against.
#[unsafe(no_mangle)]
pub extern "C" fn streamq_version_number() -> u32 {
    crate::panic::call_or("streamq_version_number", 0, version_number)
}

/// The library's version as text, e.g. "0.1.0" (static; never NULL).
#[unsafe(no_mangle)]
pub extern "C" fn streamq_version() -> *const c_char {
    crate::panic::call_or("streamq_version", c"".as_ptr(), || {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    })
}

const fn parse(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0u32;
    while i < b.len() {
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

pub(crate) const fn version_number() -> u32 {
    parse(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
        + parse(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + parse(env!("CARGO_PKG_VERSION_PATCH"))
}

#[cfg(test)]
mod tests {
    /// The macros in the committed header match Cargo.toml's version.
    #[test]
    fn header_version_macros_match_cargo_toml() {
        let h = include_str!("../../include/streamq.h");
        let get = |name: &str| -> String {
            let line = h
                .lines()
                .find(|l| l.starts_with(&format!("#define {name} ")))
                .unwrap_or_else(|| panic!("{name} missing from include/streamq.h"));
            line.split_whitespace().nth(2).unwrap().to_string()
        };
        assert_eq!(get("STREAMQ_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MAJOR"));
        assert_eq!(get("STREAMQ_VERSION_MINOR"), env!("CARGO_PKG_VERSION_MINOR"));
        assert_eq!(get("STREAMQ_VERSION_PATCH"), env!("CARGO_PKG_VERSION_PATCH"));
        assert_eq!(
            get("STREAMQ_VERSION_STRING"),
            format!("\"{}\"", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(super::version_number(), super::streamq_version_number());
    }
}
