//! Host unit tests of the path walk over a tmpfs (part of `vfs`). One test function: the
//! walk's tmpfs shares one rename lock, which must not be contended on the host.

use alloc::string::String;

use super::*;
use crate::fs::tmpfs;

fn mkdir(dir: &InodeRef, name: &str) -> InodeRef {
    dir.mkdir(name, 0o755).expect("mkdir")
}

fn file(dir: &InodeRef, name: &str) -> InodeRef {
    dir.create(name, abi::S_IFREG | 0o644, 0).expect("create")
}

fn err(r: Result<InodeRef, Errno>) -> Errno {
    r.err().expect("an error")
}

#[test]
fn walks() {
    let top = tmpfs::new_fs(0o755);
    set_root(top.clone());
    let a = mkdir(&top, "a");
    let b = mkdir(&a, "b");
    let f = file(&b, "f");

    // Plain, ".", "..", repeated slashes, the top's ".." (no mount above: itself).
    assert!(same(&resolve(&top, "a/b/f", Follow::Yes).unwrap(), &f));
    assert!(same(&resolve(&top, "a/./b//f", Follow::Yes).unwrap(), &f));
    assert!(same(&resolve(&b, "../b/f", Follow::Yes).unwrap(), &f));
    assert!(same(&resolve(&top, "../../a", Follow::Yes).unwrap(), &a));
    assert!(same(&resolve(&top, "a/b/", Follow::Yes).unwrap(), &b));

    // Errors.
    assert_eq!(err(resolve(&top, "a/x", Follow::Yes)), Errno::ENOENT);
    assert_eq!(err(resolve(&top, "a/b/f/", Follow::Yes)), Errno::ENOTDIR);
    assert_eq!(err(resolve(&top, "a/b/f/g", Follow::Yes)), Errno::ENOTDIR);
    assert_eq!(err(resolve(&top, "", Follow::Yes)), Errno::ENOENT);
    let long = "n".repeat(256);
    assert_eq!(err(resolve(&top, &long, Follow::Yes)), Errno::ENAMETOOLONG);
    let deep = "a/".repeat(2048);
    assert_eq!(err(resolve(&top, &deep, Follow::Yes)), Errno::ENAMETOOLONG);

    // Symlinks: relative to their directory, followed in the middle, at the end only when
    // asked (or before a slash); loops and chains past 40 are ELOOP.
    let link = a.symlink("to-f", "b/f").unwrap();
    assert!(same(&resolve(&top, "a/to-f", Follow::Yes).unwrap(), &f));
    assert!(same(&resolve(&top, "a/to-f", Follow::No).unwrap(), &link));
    a.symlink("to-b", "b").unwrap();
    assert!(same(&resolve(&top, "a/to-b/f", Follow::No).unwrap(), &f));
    assert!(same(&resolve(&top, "a/to-b/", Follow::No).unwrap(), &b));
    top.symlink("l1", "l2").unwrap();
    top.symlink("l2", "l1").unwrap();
    assert_eq!(err(resolve(&top, "l1", Follow::Yes)), Errno::ELOOP);
    assert_eq!(err(resolve(&top, "l1/x", Follow::No)), Errno::ELOOP);
    for i in 0..41 {
        let target = if i == 40 {
            String::from("a/b/f")
        } else {
            alloc::format!("c{}", i + 1)
        };
        top.symlink(&alloc::format!("c{i}"), &target).unwrap();
    }
    assert!(same(&resolve(&top, "c1", Follow::Yes).unwrap(), &f));
    assert_eq!(err(resolve(&top, "c0", Follow::Yes)), Errno::ELOOP);

    // The parent of a path and its last component.
    let p = walk_parent(&top, "a/b/new/", &mut 0).unwrap();
    assert!(same(&p.dir, &b) && p.name == "new" && p.trailing_slash);
    let p = walk_parent(&b, "///", &mut 0).unwrap();
    assert!(same(&p.dir, &top) && p.is_special());
    assert!(same(&resolve(&b, "/a/b/f", Follow::Yes).unwrap(), &f));

    // Scopes (openat2): BENEATH refuses escapes, IN_ROOT clamps them.
    let beneath = Scope {
        flags: RESOLVE_BENEATH,
        base: Some(a.clone()),
    };
    let up = walk_parent_scoped(&beneath, &a, "../x", &mut 0)
        .and_then(|p| lookup_in_scoped(&beneath, &p.dir, &p.name));
    assert_eq!(up.err(), Some(Errno::EXDEV));
    let in_root = Scope {
        flags: RESOLVE_IN_ROOT,
        base: Some(b.clone()),
    };
    assert!(same(
        &resolve_scoped(&in_root, &b, "../../f", Follow::Yes).unwrap(),
        &f
    ));
    let no_links = Scope {
        flags: RESOLVE_NO_SYMLINKS,
        base: None,
    };
    assert_eq!(
        resolve_scoped(&no_links, &top, "a/to-f", Follow::Yes).err(),
        Some(Errno::ELOOP)
    );

    // Ancestry (rename into a subtree).
    assert!(is_ancestor(&a, &b));
    assert!(!is_ancestor(&b, &a));
}
