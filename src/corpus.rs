//! The recorded real-SDK corpora (`tests/corpus/` and `tests/fixtures/transactions/`), compiled into the binary
//! so that `faultline seed`, `faultline-bench` and the tests work from any folder and from a clone with nothing
//! beside it.

use include_dir::{include_dir, Dir};

static PYTHON: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/tests/corpus/python");
static TRANSACTIONS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/tests/fixtures/transactions");

/// Every envelope the official Python SDK produced (`tests/corpus/README.md`), as (file name, body),
/// sorted by file name.
pub fn python_envelopes() -> Vec<(&'static str, &'static [u8])> {
    envelopes_of(&PYTHON)
}

/// The Django shop's requests as the Python SDK sent them with tracing on
/// (`tests/fixtures/transactions/README.md`): transaction items, and two error events of traced requests.
pub fn transaction_envelopes() -> Vec<(&'static str, &'static [u8])> {
    envelopes_of(&TRANSACTIONS)
}

fn envelopes_of(dir: &'static Dir<'static>) -> Vec<(&'static str, &'static [u8])> {
    let mut envelopes: Vec<_> = dir
        .files()
        .filter(|file| file.path().extension().is_some_and(|ext| ext == "envelope"))
        .filter_map(|file| Some((file.path().file_name()?.to_str()?, file.contents())))
        .collect();
    envelopes.sort_by_key(|(name, _)| *name);
    envelopes
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_thirty_six_python_envelopes_are_compiled_in_name_order() {
        let envelopes = super::python_envelopes();
        assert_eq!(envelopes.len(), 36);
        assert_eq!(envelopes[0].0, "000_wsgi_zero_division.envelope");
        assert!(envelopes.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[test]
    fn the_sixteen_recorded_django_requests_are_compiled_in_name_order() {
        let envelopes = super::transaction_envelopes();
        assert_eq!(envelopes.len(), 16);
        assert_eq!(envelopes[0].0, "000_n_plus_one_books.envelope");
        assert!(envelopes.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }
}
