use saphyr_parser::{Parser, Event};
fn main() {
    let inputs = ["a: 1\nb:\n  - x: yes\n", "{\n\t\"a\": [1,\n\t\t2]\n}\n", "a: &x [1]\nb: *x\n"];
    for s in inputs {
        let p = Parser::new_from_str(s);
        for ev in p { match ev { Ok((e, sp)) => println!("{:?} {}:{} idx{}", e, sp.start.line(), sp.start.col(), sp.start.index()), Err(e) => {println!("ERR {e}"); break} } }
        println!("--");
    }
    let deep = "[".repeat(100_000);
    let p = Parser::new_from_str(&deep);
    let mut n = 0; for ev in p { n+=1; if ev.is_err() { println!("err at {n}: {:?}", ev.err()); break } }
    println!("deep n={n}");
}
