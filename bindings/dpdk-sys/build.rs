//! Finds the system DPDK with pkg-config, links it (shared libraries: the EAL loads the PMDs
//! from its plugin directory by itself), compiles the C shim and runs bindgen.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=src/shim.c");
    println!("cargo:rerun-if-changed=src/shim.h");
    println!("cargo:rerun-if-changed=src/wrapper.h");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    // Emits the rustc-link-lib / rustc-link-search lines for `pkg-config --libs libdpdk`.
    let lib = pkg_config::Config::new()
        .atleast_version("22.11")
        .probe("libdpdk")
        .unwrap_or_else(|e| {
            panic!("DPDK not found by pkg-config ({e}); install dpdk-dev and libdpdk-dev")
        });

    // The full cflags, not just the include paths: DPDK's headers need `-include rte_config.h`
    // and the -march the library was built for (SSE intrinsics in the inline functions).
    let out = Command::new("pkg-config")
        .args(["--cflags", "libdpdk"])
        .output()
        .expect("running pkg-config --cflags libdpdk");
    assert!(out.status.success(), "pkg-config --cflags libdpdk failed");
    let cflags = String::from_utf8(out.stdout).expect("pkg-config output is UTF-8");
    let mut args: Vec<String> = Vec::new();
    let mut words = cflags.split_whitespace();
    while let Some(w) = words.next() {
        if w == "-include" {
            if let Some(f) = words.next() {
                args.push(w.to_string());
                args.push(f.to_string());
            }
        } else {
            args.push(w.to_string());
        }
    }
    for p in &lib.include_paths {
        args.push(format!("-I{}", p.display()));
    }

    let mut shim = cc::Build::new();
    shim.file("src/shim.c")
        .include("src")
        .opt_level(3)
        .warnings(true);
    for a in &args {
        shim.flag(a);
    }
    shim.compile("nfdp_dpdk_shim");

    let bindings = bindgen::Builder::default()
        .header("src/wrapper.h")
        .clang_arg("-Isrc")
        .clang_args(&args)
        .allowlist_function("rte_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*")
        .allowlist_function("nfdp_.*")
        .allowlist_var("NFDP_.*")
        // Packed flow-item structs that contain aligned ones do not compile as Rust
        // (E0588); nothing here uses them.
        .opaque_type("rte_l2tpv2_.*")
        .opaque_type("rte_gtp_.*")
        .derive_debug(false)
        .derive_default(true)
        .generate_comments(false)
        .prepend_enum_name(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen over the DPDK headers");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("writing bindings.rs");
}
