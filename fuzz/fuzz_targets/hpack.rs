#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pixelscope_fuzz::targets::hpack(data));
