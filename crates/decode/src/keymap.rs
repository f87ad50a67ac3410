//! Maps from short text keys built once (catalog dictionaries, the
//! registry's host index) and looked up for every field or exchange.
//!
//! They use FNV-1a instead of the standard SipHash: the keys are a handful
//! of bytes and fixed at load time, so lookups (which never grow a map)
//! cannot be turned into a flood by hostile input, and SipHash's setup cost
//! per lookup showed in profiles.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` from `String` keys with [`KeyHasher`].
pub(crate) type KeyMap<V> = HashMap<String, V, BuildHasherDefault<KeyHasher>>;

/// 64-bit FNV-1a.
pub(crate) struct KeyHasher(u64);

impl Default for KeyHasher {
    fn default() -> Self {
        KeyHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_was_inserted_and_nothing_else() {
        let mut map: KeyMap<usize> = KeyMap::default();
        for (index, key) in ["ev", "cd[value]", "", "e", "v"].iter().enumerate() {
            map.insert((*key).to_owned(), index);
        }
        assert_eq!(map.get("cd[value]"), Some(&1));
        assert_eq!(map.get(""), Some(&2));
        assert_eq!(map.get("ve"), None);
        assert_eq!(map.len(), 5);
    }
}
