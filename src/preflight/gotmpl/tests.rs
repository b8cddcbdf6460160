use std::collections::BTreeMap;

use super::*;

fn render(src: &str, data: Value) -> String {
    Template::parse("t", src)
        .unwrap()
        .render(&data)
        .unwrap()
        .text
}

fn params(pairs: &[(&str, Value)]) -> Value {
    let p: BTreeMap<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut root = BTreeMap::new();
    root.insert("Params".into(), Value::Map(p));
    root.insert("Name".into(), Value::Str("inst".into()));
    Value::Map(root)
}

fn s(x: &str) -> Value {
    Value::Str(x.into())
}

#[test]
fn fields_variables_and_root() {
    let d = params(&[("N", s("3"))]);
    assert_eq!(render("{{ .Name }}-{{ .Params.N }}", d.clone()), "inst-3");
    assert_eq!(
        render(
            "{{ $x := .Params.N }}{{ $x }}{{ $x = \"9\" }}{{ $x }}",
            d.clone()
        ),
        "39"
    );
    assert_eq!(
        render("{{ range $i := until 2 }}{{ $.Name }}{{ end }}", d),
        "instinst"
    );
}

#[test]
fn if_else_if_chain_and_comparisons() {
    let t = "{{ if eq .Params.M \"a\" }}A{{ else if eq .Params.M \"b\" }}B{{ else }}C{{ end }}";
    assert_eq!(render(t, params(&[("M", s("a"))])), "A");
    assert_eq!(render(t, params(&[("M", s("b"))])), "B");
    assert_eq!(render(t, params(&[("M", s("z"))])), "C");
    let t = "{{ if or (eq .Params.M \"x\") (and (gt (int .Params.N) 2) (ne .Params.M \"y\")) }}yes{{ end }}";
    assert_eq!(render(t, params(&[("M", s("z")), ("N", s("3"))])), "yes");
    assert_eq!(render(t, params(&[("M", s("y")), ("N", s("3"))])), "");
    // An unset parameter is false, an empty string is false, "false" is a true string.
    assert_eq!(
        render(
            "{{ if .Params.U }}t{{ else }}f{{ end }}",
            params(&[("U", Value::Nil)])
        ),
        "f"
    );
    assert_eq!(
        render("{{ if .Params.U }}t{{ end }}", params(&[("U", s("false"))])),
        "t"
    );
}

#[test]
fn whitespace_trimming() {
    let d = params(&[]);
    assert_eq!(render("a  \n  {{- \"b\" -}}  \n c", d.clone()), "abc");
    assert_eq!(render("a {{ \"b\" }} c", d.clone()), "a b c");
    // `{{-3}}` is the number -3, not a trim marker.
    assert_eq!(render("a {{-3}}", d), "a -3");
}

#[test]
fn range_over_lists_maps_and_with() {
    let mut topo = BTreeMap::new();
    topo.insert("b".to_string(), s("2"));
    topo.insert("a".to_string(), s("1"));
    let d = params(&[
        ("M", Value::Map(topo)),
        ("L", Value::List(vec![s("x"), s("y")])),
    ]);
    assert_eq!(
        render(
            "{{ range $k, $v := .Params.M }}{{ $k }}={{ $v }};{{ end }}",
            d.clone()
        ),
        "a=1;b=2;"
    );
    assert_eq!(
        render("{{ range .Params.L }}[{{ . }}]{{ end }}", d.clone()),
        "[x][y]"
    );
    assert_eq!(
        render(
            "{{ range .Params.Nope }}x{{ else }}none{{ end }}",
            params(&[("Nope", Value::Nil)])
        ),
        "none"
    );
    assert_eq!(
        render("{{ with .Params.L }}{{ len . }}{{ end }}", d.clone()),
        "2"
    );
    assert_eq!(render("{{ (index .Params.L 1) }}", d), "y");
}

#[test]
fn sprig_functions() {
    let d = params(&[("N", s("7")), ("T", Value::List(vec![s("a")]))]);
    assert_eq!(render("{{ .Params.N | mul 2 }}", d.clone()), "14");
    assert_eq!(
        render("{{ max (min 3 (div .Params.N 2)) 1 }}", d.clone()),
        "3"
    );
    assert_eq!(
        render("{{ add (int .Params.N) 1 }} {{ sub 5 2 }}", d.clone()),
        "8 3"
    );
    assert_eq!(
        render("{{ range untilStep 0 6 2 }}{{ . }}{{ end }}", d.clone()),
        "024"
    );
    assert_eq!(
        render("{{ toYaml .Params.T | trim | indent 2 }}", d.clone()),
        "  - a"
    );
    assert_eq!(
        render("x:{{ toYaml .Params.T | nindent 2 }}", d.clone()),
        "x:\n  - a"
    );
    assert_eq!(render("{{ \"aGk=\" | b64dec }}", d.clone()), "hi");
    assert_eq!(
        render(
            "{{ default \"d\" \"\" }} {{ \"v\" | default \"d\" }}",
            d.clone()
        ),
        "d v"
    );
    assert_eq!(
        render("{{ quote \"a\" }} {{ upper \"a\" }}", d.clone()),
        "\"a\" A"
    );
    assert_eq!(
        render("{{ printf \"%s-%03d\" .Name 7 }}", d.clone()),
        "inst-007"
    );
    assert_eq!(
        render(
            "{{ (splitList \",\" \"a,b\") }} {{ contains \"b\" \"abc\" }}",
            d.clone()
        ),
        "[a b] true"
    );
    assert_eq!(render("{{ hasKey .Params \"N\" }}", d), "true");
}

#[test]
fn errors_name_the_template_and_line() {
    let e = Template::parse("x.yaml", "a\n{{ if .A }}").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("no matching `end`"), "{e}");
    let e = Template::parse("x.yaml", "{{ frob 1 }}").unwrap_err();
    assert!(e.message.contains("\"frob\" not defined"), "{e}");
    let e = Template::parse("x.yaml", "\n\n{{ .Params.TYPO }}")
        .unwrap()
        .render(&params(&[]))
        .unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.message.contains("\"TYPO\" is not defined"), "{e}");
    let e = Template::parse("x", "{{ if eq \"1\" 1 }}{{ end }}")
        .unwrap()
        .render(&params(&[]))
        .unwrap_err();
    assert!(e.message.contains("incompatible types"), "{e}");
}

#[test]
fn unknown_values_are_recorded_not_guessed() {
    let mut root = BTreeMap::new();
    root.insert("Pipes".into(), Value::Unknown(".Pipes".into()));
    let r = Template::parse("t", "secretName: {{ .Pipes.certificate }}")
        .unwrap()
        .render(&Value::Map(root))
        .unwrap();
    assert_eq!(r.text, "secretName: UNKNOWN(.Pipes.certificate)");
    assert_eq!(r.unknowns, vec![".Pipes.certificate".to_string()]);
}
