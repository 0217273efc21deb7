//! The checks allocate nothing on success besides the returned value: no
//! allocation for a tag or a commit without parents, one (the `Vec`) for a
//! commit with parents or a tree.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use pushguard_fsck::{check_commit, check_ref_name, check_tag, check_tree, HashKind};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    let after = ALLOCATIONS.with(Cell::get);
    drop(value);
    after - before
}

const T: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
const P: &str = "1171e3bf414c32e7b945404b3ebeab1d0eb68c57";

#[test]
fn success_allocates_only_the_returned_value() {
    let root = format!(
        "tree {T}\nauthor A <a@example.com> 1700000000 +0000\n\
         committer C <c@example.com> 1700000000 +0000\nencoding ISO-8859-1\n\
         gpgsig -----BEGIN SSH SIGNATURE-----\n abc\n -----END SSH SIGNATURE-----\n\nmessage\n"
    );
    assert_eq!(
        allocations(|| check_commit(root.as_bytes(), HashKind::Sha1).unwrap()),
        0
    );

    let merge = format!(
        "tree {T}\nparent {P}\nparent {T}\nauthor A <a@example.com> 1700000000 +0000\n\
         committer C <c@example.com> 1700000000 +0000\n\nmerge\n"
    );
    assert_eq!(
        allocations(|| check_commit(merge.as_bytes(), HashKind::Sha1).unwrap()),
        1
    );

    let tag = format!(
        "object {P}\ntype commit\ntag v1.0\ntagger T <t@example.com> 1700000000 +0000\n\n\
         Release\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n"
    );
    assert_eq!(
        allocations(|| check_tag(tag.as_bytes(), HashKind::Sha1).unwrap()),
        0
    );

    let mut tree = Vec::new();
    for (mode, name) in [("100644", "a"), ("40000", "b"), ("120000", "c")] {
        tree.extend_from_slice(format!("{mode} {name}\0").as_bytes());
        tree.extend_from_slice(&[0xab; 20]);
    }
    assert_eq!(
        allocations(|| check_tree(&tree, HashKind::Sha1).unwrap()),
        1
    );

    assert_eq!(
        allocations(|| check_ref_name("refs/heads/main").unwrap()),
        0
    );
}
