//! The event decoders on real lines of each format, their naming rules,
//! hostile input, and the fast decoders against their slow twins.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::reference::{self, OwnedField};
use super::*;
use crate::search::evtx::render_key_value;

/// A Sysmon process creation, the first event of
/// `../shared/corpus/windows-events.jsonl` (its Hashes shortened).
const SYSMON_JSON: &str = r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"5770385F-C22A-43E0-BF4C-06F5698FFBD9"}},"EventID":1,"Version":5,"Level":4,"Task":1,"Opcode":0,"Keywords":"0x8000000000000000","TimeCreated":{"#attributes":{"SystemTime":"2025-11-28T07:59:01.340553Z"}},"EventRecordID":2455038,"Correlation":null,"Execution":{"#attributes":{"ProcessID":3544,"ThreadID":4264}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"swachchhanda","Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"RuleName":"-","UtcTime":"2025-11-28 07:59:01.337","ProcessGuid":"0197231E-5645-6929-C410-000000000D00","ProcessId":8752,"Image":"C:\\Windows\\System32\\cmd.exe","FileVersion":"10.0.26100.7019 (WinBuild.160101.0800)","Description":"Windows Command Processor","Product":"Microsoft® Windows® Operating System","Company":"Microsoft Corporation","OriginalFileName":"Cmd.Exe","CommandLine":"C:\\WINDOWS\\system32\\cmd.exe /d /s /c node setup_bun.js","CurrentDirectory":"C:\\Users\\xodih\\Downloads\\cli-2efa\\","User":"swachchhanda\\xodih","LogonGuid":"0197231E-B736-6923-B25C-3B0000000000","LogonId":"0x3b5cb2","TerminalSessionId":1,"IntegrityLevel":"High","Hashes":"SHA1=F2EC25166F2DC893BB6FD48A0B31BC60BEB7A13A,MD5=45B78461F85D75C970567895A3A2DAE5","ParentProcessGuid":"0197231E-563F-6929-C310-000000000D00","ParentProcessId":8056,"ParentImage":"C:\\Program Files\\nodejs\\node.exe","ParentCommandLine":"\"C:\\Program Files\\nodejs\\\\node.exe\"  \"C:\\Program Files\\nodejs\\\\node_modules\\npm\\bin\\npm-cli.js\" install","ParentUser":"swachchhanda\\xodih"}}}"##;

/// The same event as the `evtx` crate renders it in XML, on one line as
/// `Rendering::Xml` joins it.
const SYSMON_XML: &str = r#"<?xml version="1.0" encoding="utf-8"?> <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"> <System> <Provider Name="Microsoft-Windows-Sysmon" Guid="5770385F-C22A-43E0-BF4C-06F5698FFBD9"> </Provider> <EventID>1</EventID> <Version>5</Version> <Level>4</Level> <Task>1</Task> <Opcode>0</Opcode> <Keywords>0x8000000000000000</Keywords> <TimeCreated SystemTime="2025-11-28T07:59:01.340553Z"> </TimeCreated> <EventRecordID>2455038</EventRecordID> <Correlation> </Correlation> <Execution ProcessID="3544" ThreadID="4264"> </Execution> <Channel>Microsoft-Windows-Sysmon/Operational</Channel> <Computer>swachchhanda</Computer> <Security UserID="S-1-5-18"> </Security> </System> <EventData> <Data Name="RuleName">-</Data> <Data Name="UtcTime">2025-11-28 07:59:01.337</Data> <Data Name="ProcessGuid">0197231E-5645-6929-C410-000000000D00</Data> <Data Name="ProcessId">8752</Data> <Data Name="Image">C:\Windows\System32\cmd.exe</Data> <Data Name="FileVersion">10.0.26100.7019 (WinBuild.160101.0800)</Data> <Data Name="Description">Windows Command Processor</Data> <Data Name="Product">Microsoft® Windows® Operating System</Data> <Data Name="Company">Microsoft Corporation</Data> <Data Name="OriginalFileName">Cmd.Exe</Data> <Data Name="CommandLine">C:\WINDOWS\system32\cmd.exe /d /s /c node setup_bun.js</Data> <Data Name="CurrentDirectory">C:\Users\xodih\Downloads\cli-2efa\</Data> <Data Name="User">swachchhanda\xodih</Data> <Data Name="LogonGuid">0197231E-B736-6923-B25C-3B0000000000</Data> <Data Name="LogonId">0x3b5cb2</Data> <Data Name="TerminalSessionId">1</Data> <Data Name="IntegrityLevel">High</Data> <Data Name="Hashes">SHA1=F2EC25166F2DC893BB6FD48A0B31BC60BEB7A13A,MD5=45B78461F85D75C970567895A3A2DAE5</Data> <Data Name="ParentProcessGuid">0197231E-563F-6929-C310-000000000D00</Data> <Data Name="ParentProcessId">8056</Data> <Data Name="ParentImage">C:\Program Files\nodejs\node.exe</Data> <Data Name="ParentCommandLine">&quot;C:\Program Files\nodejs\\node.exe&quot;  &quot;C:\Program Files\nodejs\\node_modules\npm\bin\npm-cli.js&quot; install</Data> <Data Name="ParentUser">swachchhanda\xodih</Data> </EventData> </Event>"#;

/// Every value of `name` in `line`, as strings.
fn values(line: &[u8], name: &str) -> Vec<String> {
    let mut scratch = Scratch::default();
    let mut event = Event::new(line, &mut scratch);
    event.values(name).map(|v| String::from_utf8_lossy(v).into_owned()).collect()
}

fn format(line: &[u8]) -> Format {
    Event::new(line, &mut Scratch::default()).format()
}

/// The fields every Windows rendering of the Sysmon event must give.
fn check_sysmon(line: &[u8]) {
    assert_eq!(values(line, "EventID"), ["1"]);
    assert_eq!(values(line, "Channel"), ["Microsoft-Windows-Sysmon/Operational"]);
    assert_eq!(values(line, "channel"), ["Microsoft-Windows-Sysmon/Operational"]);
    assert_eq!(values(line, "Computer"), ["swachchhanda"]);
    assert_eq!(values(line, "Image"), [r"C:\Windows\System32\cmd.exe"]);
    assert_eq!(values(line, "CurrentDirectory"), [r"C:\Users\xodih\Downloads\cli-2efa\"]);
    assert_eq!(
        values(line, "ParentCommandLine"),
        [
            r#""C:\Program Files\nodejs\\node.exe"  "C:\Program Files\nodejs\\node_modules\npm\bin\npm-cli.js" install"#
        ]
    );
    assert_eq!(
        values(line, "Hashes"),
        ["SHA1=F2EC25166F2DC893BB6FD48A0B31BC60BEB7A13A,MD5=45B78461F85D75C970567895A3A2DAE5"]
    );
    assert_eq!(values(line, "Product"), ["Microsoft® Windows® Operating System"]);
    assert_eq!(values(line, "TerminalSessionId"), ["1"]);
    assert!(values(line, "Correlation").is_empty());
    assert!(values(line, "TargetFilename").is_empty());
    let mut scratch = Scratch::default();
    let mut event = Event::new(line, &mut scratch);
    assert_eq!(
        event.logsource(),
        Logsource {
            channel: Some(&b"Microsoft-Windows-Sysmon/Operational"[..]),
            event_id: Some(&b"1"[..])
        }
    );
}

#[test]
fn json_windows_event() {
    let line = SYSMON_JSON.as_bytes();
    assert_eq!(format(line), Format::Json);
    check_sysmon(line);
    // Attributes by path, by `_`, by their own name; `#attributes` and
    // `#text` are no path segments.
    for name in ["Provider_Name", "provider_name", "Provider.Name", "System.Provider.Name", "Name"]
    {
        assert_eq!(values(line, name), ["Microsoft-Windows-Sysmon"], "{name}");
    }
    assert!(values(line, "Provider.#attributes.Name").is_empty());
    assert!(values(line, "rovider_Name").is_empty());
    assert!(values(line, "System_Provider_Name").is_empty());
    assert_eq!(values(line, "Execution_ProcessID"), ["3544"]);
    assert_eq!(values(line, "ProcessID"), ["3544", "8752"]);
    assert_eq!(values(line, "Event.EventData.ProcessId"), ["8752"]);
    assert_eq!(values(line, "EventData.CommandLine"), values(line, "CommandLine"));
    assert!(values(line, "Data.CommandLine").is_empty());
    assert_eq!(values(line, "xmlns"), ["http://schemas.microsoft.com/win/2004/08/events/event"]);
    assert_eq!(values(line, "Event_xmlns"), values(line, "xmlns"));
}

#[test]
fn json_values() {
    let line = br#" {"a":{"b":[1,"x",{"c":true},null,[false,-1.5e3]]},"n":null,"s":"q\"\\\/\u00e9\ud83d\ude00","e":{},"l":[]} "#;
    assert_eq!(format(line), Format::Json);
    assert_eq!(values(line, "b"), ["1", "x", "false", "-1.5e3"]);
    assert_eq!(values(line, "a.b.c"), ["true"]);
    assert_eq!(values(line, "c"), ["true"]);
    // null is no value: the field is absent, as SQL NULL.
    assert!(values(line, "n").is_empty());
    assert!(!Event::new(line, &mut Scratch::default()).has("n"));
    assert_eq!(values(line, "S"), ["q\"\\/é😀"]);
    assert!(values(line, "e").is_empty() && values(line, "l").is_empty());
    // A lone surrogate becomes U+FFFD.
    assert_eq!(values(br#"{"k":"\ud800x","j":1}"#, "k"), ["\u{fffd}x"]);
    // #text beside #attributes: the element's value.
    let qualified = br##"{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7036}}"##;
    assert_eq!(values(qualified, "EventID"), ["7036"]);
    assert_eq!(values(qualified, "EventID_Qualifiers"), ["16384"]);
    // Escaped keys are unescaped; names compare case-insensitively.
    assert_eq!(values(br#"{"Comm\u0061nd":"x"}"#, "COMMAND"), ["x"]);
    // A BOM and a CR are blanks around the object.
    assert_eq!(values(b"\xEF\xBB\xBF{\"a\":1}\r", "a"), ["1"]);
}

#[test]
fn broken_json_has_no_fields() {
    for line in [
        &br#"{"a":1"#[..],
        br#"{"a":1} trailing"#,
        br#"{"a":1,}"#,
        br#"{"a" 1}"#,
        br#"{"a":"unterminated}"#,
        br#"{"a":"bad \q escape"}"#,
        br#"{"a":tru}"#,
        br#"{"a":[1 2]}"#,
        br#"{"a":[1,2}"#,
        br#"{"a":{"b":1]}"#,
        b"{",
        b"{\"a\":\"\\",
        b"{\"a\":\"\\u12\"}",
    ] {
        let mut scratch = Scratch::default();
        let mut event = Event::new(line, &mut scratch);
        assert_eq!(event.format(), Format::None, "{}", String::from_utf8_lossy(line));
        assert!(event.fields().is_empty());
    }
}

#[test]
fn key_value_rendering_of_windows_events() {
    let record: Value = serde_json::from_str(SYSMON_JSON).unwrap();
    let line = render_key_value(&record);
    assert_eq!(format(line.as_bytes()), Format::KeyValue);
    check_sysmon(line.as_bytes());
    assert_eq!(values(line.as_bytes(), "Provider"), ["Microsoft-Windows-Sysmon"]);
    // The rendering's `Provider` is the records' `Provider_Name`.
    assert_eq!(values(line.as_bytes(), "Provider_Name"), ["Microsoft-Windows-Sysmon"]);
    assert!(values(b"a=1 provider_name_x=2 Provider=3", "Provider_Name_x") == ["2"]);
    // Names compare case-insensitively: System's ProcessID, EventData's
    // ProcessId.
    assert_eq!(values(line.as_bytes(), "ProcessID"), ["3544", "8752"]);
    // A key is matched whole, never by a suffix.
    assert!(values(b"a.b=1 c=2", "b").is_empty());
    assert_eq!(values(b"a.b=1 c=2", "A.B"), ["1"]);
}

#[test]
fn key_value_quoting() {
    let line =
        br#"A="C:\Program Files\" B="x \"y\" z" C= D="" E="\"C:\P F\a.exe\" k=v" F=plain G="a=b""#;
    assert_eq!(values(line, "A"), [r"C:\Program Files\"]);
    assert_eq!(values(line, "B"), [r#"x "y" z"#]);
    assert_eq!(values(line, "C"), [""]);
    assert_eq!(values(line, "D"), [""]);
    assert_eq!(values(line, "E"), [r#""C:\P F\a.exe" k=v"#]);
    assert!(values(line, "k").is_empty());
    assert_eq!(values(line, "F"), ["plain"]);
    assert_eq!(values(line, "G"), ["a=b"]);
    // At the end of the line `\"` closes; a quote that never closes runs
    // to the end.
    assert_eq!(values(br#"a=1 b="x y\""#, "b"), [r"x y\"]);
    assert_eq!(values(br#"a=1 b="x \"y z"#, "b"), [r#"x "y z"#]);
    // The documented ambiguity: `a" b=c` is rendered `"a\" b=c"`.
    assert_eq!(values(br#"x=1 v="a\" b=c""#, "v"), [r"a\"]);
}

#[test]
fn auditd_and_logfmt() {
    let syscall = br#"type=SYSCALL msg=audit(1364481363.243:24287): arch=c000003e syscall=2 success=no exit=-13 a0=7fffd19c5592 ppid=2686 pid=3538 auid=500 uid=500 comm="cat" exe="/bin/cat" key="sshd_config""#;
    assert_eq!(format(syscall), Format::KeyValue);
    assert_eq!(values(syscall, "type"), ["SYSCALL"]);
    assert_eq!(values(syscall, "msg"), ["audit(1364481363.243:24287):"]);
    assert_eq!(values(syscall, "comm"), ["cat"]);
    assert_eq!(values(syscall, "exe"), ["/bin/cat"]);
    assert_eq!(values(syscall, "KEY"), ["sshd_config"]);
    let execve = br#"type=EXECVE msg=audit(1.2:3): argc=3 a0="ls" a1="-la" a2=2F746D70"#;
    assert_eq!(values(execve, "a2"), ["2F746D70"]);
    // Single quotes are ordinary bytes (see kv.rs).
    let user = br#"type=USER_AUTH msg=audit(1.2:3): pid=1 uid=0 msg='op=PAM:authentication acct="root" exe="/usr/sbin/sshd" res=failed'"#;
    assert_eq!(values(user, "msg"), ["audit(1.2:3):", "'op=PAM:authentication"]);
    assert_eq!(values(user, "acct"), ["root"]);
    assert_eq!(values(user, "res"), ["failed'"]);
    let logfmt =
        br#"ts=2024-01-02T03:04:05Z level=info msg="hello world" user.id=42 duration=1.5ms ok"#;
    assert_eq!(format(logfmt), Format::KeyValue);
    assert_eq!(values(logfmt, "msg"), ["hello world"]);
    assert_eq!(values(logfmt, "user.id"), ["42"]);
    assert!(values(logfmt, "ok").is_empty());
}

#[test]
fn other_lines_have_no_fields() {
    for line in [
        &b""[..],
        b"   ",
        b"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
        b"Dec 10 07:07:38 LabSZ sshd[24206]: Failed password for x=y from 1.2.3.4 port=22",
        b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ",
        b"[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties",
        b"uid=0",
        b"=a b=c",
        b"1a=b c=d",
        b"<html><body>x=1 y=2</body></html>",
        b"\xff\xfe=1 a=2",
    ] {
        assert_eq!(format(line), Format::None, "{}", String::from_utf8_lossy(line));
    }
}

#[test]
fn xml_windows_event() {
    let line = SYSMON_XML.as_bytes();
    assert_eq!(format(line), Format::Xml);
    check_sysmon(line);
    for name in ["Provider_Name", "Provider.Name", "Name"] {
        assert_eq!(values(line, name), ["Microsoft-Windows-Sysmon"], "{name}");
    }
    assert_eq!(values(line, "Execution_ThreadID"), ["4264"]);
    // The same fields as the JSON shape of the same event.
    let json: Value = serde_json::from_str(SYSMON_JSON).unwrap();
    assert_eq!(sorted(reference::fast(line).1), sorted(record_listing(&json)));
}

#[test]
fn xml_details() {
    let line = br#"<Event><System><EventID Qualifiers="16384">7036</EventID><Provider Name="A&amp;B" EventSourceName='x'/></System><UserData><Op xmlns="y"><Task>\Microsoft\&lt;x&gt;&#65;&#x42;&bogus;</Task><Empty/></Op></UserData><!-- c --></Event>"#;
    assert_eq!(format(line), Format::Xml);
    assert_eq!(values(line, "EventID"), ["7036"]);
    assert_eq!(values(line, "EventID_Qualifiers"), ["16384"]);
    assert_eq!(values(line, "Provider_Name"), ["A&B"]);
    assert_eq!(values(line, "Provider_EventSourceName"), ["x"]);
    assert_eq!(values(line, "Task"), [r"\Microsoft\<x>AB&bogus;"]);
    assert_eq!(values(line, "Op.xmlns"), ["y"]);
    assert!(values(line, "Empty").is_empty());
    for broken in [
        &br#"<Event><System><EventID>1</EventID></System>"#[..],
        br#"<Event><System><EventID>1</System></Event>"#,
        br#"<Event><System><EventID>1</EventId></System></Event>"#,
        br#"<Event><EventData><Data Name="X">1</X></EventData></Event>"#,
        br#"<Event><A x="1></A></Event>"#,
        br#"<Event><A>x<B/></A></Event>"#,
        br#"<Event></Event><Event></Event>"#,
        br#"<Event><![CDATA[x]]></Event>"#,
        b"<Event",
        b"<Event><",
        b"<Event></",
    ] {
        assert_eq!(format(broken), Format::None, "{}", String::from_utf8_lossy(broken));
    }
}

#[test]
fn lookups_decode_once_and_format_is_lazy() {
    let mut scratch = Scratch::default();
    let line = b"a=1 b=2";
    let mut event = Event::new(line, &mut scratch);
    assert!(matches!(event.source, Source::Line { format: None, .. }));
    assert!(event.has("a"));
    assert!(matches!(event.source, Source::Line { format: Some(Format::KeyValue), .. }));
    assert_eq!(event.format(), Format::KeyValue);
    // The scratch is reused by the next line.
    let mut next = Event::new(b"{\"c\":3}", &mut scratch);
    assert_eq!(next.values("c").collect::<Vec<_>>(), [b"3"]);
    assert!(!next.has("a"));
}

#[test]
fn records_have_the_fields_of_their_json_line() {
    let record: Value = serde_json::from_str(SYSMON_JSON).unwrap();
    let fields = RecordFields::from_value(&record);
    let mut event = Event::from_record(&fields);
    assert_eq!(event.format(), Format::Record);
    assert_eq!(event.values("Provider_Name").collect::<Vec<_>>(), [b"Microsoft-Windows-Sysmon"]);
    assert_eq!(sorted(record_listing(&record)), sorted(reference::fast(SYSMON_JSON.as_bytes()).1));
}

/// Hostile input: deep nesting, unterminated quotes, invalid UTF-8 and
/// huge lines decode without panicking or recursing.
#[test]
fn hostile_lines() {
    let deep_array = vec![b'['; 100_000];
    let mut deep_in_object = b"{\"a\":".to_vec();
    deep_in_object.extend(std::iter::repeat_n(b'[', 100_000));
    let mut deep_objects = Vec::new();
    for _ in 0..50_000 {
        deep_objects.extend_from_slice(b"{\"a\":");
    }
    let deep_xml = b"<Event>".iter().copied().chain(b"<a>".repeat(100_000)).collect::<Vec<u8>>();
    let quotes = b"a=\"".repeat(100_000);
    let escapes = [&b"a=1 b=\""[..], &b"\\\" c=".repeat(100_000)].concat();
    let huge_kv = b"key=value ".repeat(1_000_000);
    let huge_json = [&b"{\"a\":\""[..], &b"x".repeat(10_000_000), b"\"}"].concat();
    let invalid = b"a=\xff\xfe b=\xc3 {\"\xff\":\"\xfe\"}".to_vec();
    let mut within_limit = b"{\"a\":".to_vec();
    within_limit.extend(std::iter::repeat_n(b'[', MAX_DEPTH - 1));
    within_limit.push(b'1');
    within_limit.extend(std::iter::repeat_n(b']', MAX_DEPTH - 1));
    within_limit.push(b'}');
    for line in [&deep_array, &deep_in_object, &deep_objects, &deep_xml, &quotes] {
        assert_eq!(reference::fast(line), (Format::None, vec![]));
        reference::compare(line);
    }
    assert!(reference::compare(&escapes));
    assert_eq!(reference::fast(&escapes).1.len(), 100_002);
    assert_eq!(reference::fast(&huge_kv).1.len(), 1_000_000);
    assert_eq!(values(&huge_json, "a")[0].len(), 10_000_000);
    assert_eq!(values(&invalid, "a"), ["\u{fffd}\u{fffd}"]);
    assert_eq!(values(&within_limit, "a"), ["1"]);
    assert!(reference::compare(&within_limit));
    let beyond = [&b"{\"b\":["[..], &within_limit, b"]}"].concat();
    assert_eq!(format(&beyond), Format::None);
    assert!(!reference::compare(&beyond), "serde_json has the same limit");
}

/// The loghub samples (Linux syslog, OpenSSH, Apache): none is a
/// key=value line.
#[test]
fn loghub_lines_have_no_fields() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/loghub");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("loghub_lines_have_no_fields: {} is absent, skipped", dir.display());
        return;
    };
    let mut lines = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let text = std::fs::read(&path).unwrap();
        for line in text.split(|&b| b == b'\n') {
            assert_eq!(format(line), Format::None, "{}", String::from_utf8_lossy(line));
            assert!(reference::compare(line));
            lines += 1;
        }
    }
    assert!(lines >= 6000, "{lines}");
}

/// The 119 events of `windows-events.jsonl`: as JSON lines, as records,
/// as Key=Value lines; fast decoders equal to their twins.
#[test]
fn windows_events_corpus() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/windows-events.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("windows_events_corpus: {} is absent, skipped", path.display());
        return;
    };
    let mut count = 0;
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        assert!(reference::compare(line.as_bytes()));
        assert_eq!(sorted(reference::fast(line.as_bytes()).1), sorted(record_listing(&record)));
        let kv = render_key_value(&record);
        assert!(reference::compare(kv.as_bytes()));
        let (format, _) = reference::fast(kv.as_bytes());
        assert_eq!(format, Format::KeyValue);
        // Every EventData field of the record reads back from the Key=Value
        // line as the rendering wrote it (CR and LF become spaces).
        for (name, value) in record["Event"]["EventData"].as_object().into_iter().flatten() {
            let want = match value {
                Value::String(s) => s.replace(['\r', '\n'], " "),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            let got = values(kv.as_bytes(), &name.replace(' ', ""));
            assert!(got.contains(&want), "{name}: {want:?} not in {got:?}\n{kv}");
        }
        count += 1;
    }
    assert_eq!(count, 119);
}

fn sorted(mut fields: Vec<OwnedField>) -> Vec<OwnedField> {
    fields.sort();
    fields
}

fn record_listing(record: &Value) -> Vec<OwnedField> {
    let fields = RecordFields::from_value(record);
    let mut event = Event::from_record(&fields);
    event
        .fields()
        .iter()
        .map(|f| OwnedField {
            name: f.name.to_vec(),
            attribute_dot: f.attribute_dot,
            value: f.value.to_vec(),
        })
        .collect()
}

/// Writes `event` (the evtx crate's JSON shape) as one-line XML, the way
/// Windows does: `#attributes` as attributes, `#text` as text, the members
/// of `EventData` as `<Data Name="...">`.
fn to_xml(name: &str, value: &Value, in_event_data: bool, out: &mut String) {
    let escape = |s: &str| {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    };
    let text = |v: &Value| match v {
        Value::String(s) => escape(s),
        other => other.to_string(),
    };
    let tag = if in_event_data { "Data" } else { name };
    out.push('<');
    out.push_str(tag);
    if in_event_data {
        out.push_str(&format!(" Name=\"{}\"", escape(name)));
    }
    if let Some(Value::Object(attrs)) = value.get("#attributes") {
        for (k, v) in attrs {
            out.push_str(&format!(" {k}=\"{}\"", text(v)));
        }
    }
    out.push('>');
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match k.as_str() {
                    "#attributes" => {}
                    "#text" => out.push_str(&text(v)),
                    _ => to_xml(k, v, name == "EventData", out),
                }
            }
        }
        Value::Null => out.push(' '),
        other => out.push_str(&text(other)),
    }
    out.push_str(&format!("</{tag}> "));
}

/// Strategy: a Windows event in the evtx crate's JSON shape, with
/// arbitrary System values and EventData fields.
fn windows_event() -> impl Strategy<Value = Value> {
    let text = "[ -~\\\\\"&<>=éΩ\t]{0,12}";
    let name = "[A-Za-z][A-Za-z0-9_]{0,8}";
    (
        0u32..70000,
        text,
        prop::collection::btree_map(
            name,
            prop_oneof![
                text.prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                Just(Value::Null),
                any::<bool>().prop_map(Value::from)
            ],
            0..8,
        ),
        prop::option::of(0u32..65536),
    )
        .prop_map(|(id, computer, data, qualifiers)| {
            let event_id = match qualifiers {
                Some(q) => json!({"#attributes": {"Qualifiers": q}, "#text": id}),
                None => json!(id),
            };
            json!({"Event": {
                "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
                "System": {
                    "Provider": {"#attributes": {"Name": computer.clone(), "Guid": "{X}"}},
                    "EventID": event_id,
                    "Computer": computer,
                    "Correlation": null,
                    "Channel": "Security"
                },
                "EventData": data
            }})
        })
}

/// Strategy: a JSON object of arbitrary shape, small.
fn json_object() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("#attributes".to_string()),
        Just("#text".to_string()),
        "[a-zA-Z._\"\\\\ é]{0,6}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "[ -~\\\\\"\u{0}\n\u{1F600}é]{0,8}".prop_map(Value::from),
    ];
    let tree = leaf.prop_recursive(5, 40, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    });
    prop::collection::vec(("[a-zA-Z#]{1,6}", tree), 0..5)
        .prop_map(|members| Value::Object(members.into_iter().collect()))
}

/// Strategy: a value as Windows events hold them: words, paths that may
/// end in `\`, quoted parts (balanced), `=`, blanks.
fn windows_value() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        "[A-Za-z0-9.,:;_-]{1,6}",
        "C:\\\\[A-Za-z ]{1,5}\\\\",
        "\"[A-Za-z\\\\ ]{0,6}\"",
        Just("=".to_string()),
        Just(" ".to_string()),
        Just("  ".to_string()),
    ];
    prop::collection::vec(part, 0..6).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The JSON scanner against serde_json, on arbitrary objects written
    /// compactly and pretty (on one line).
    #[test]
    fn json_fast_equals_slow(object in json_object(), spaced in any::<bool>()) {
        let mut line = serde_json::to_string(&object).unwrap();
        if spaced {
            line = line.replace(',', " , ").replace(':', " : ");
        }
        prop_assert!(reference::compare(line.as_bytes()));
    }

    /// A record's fields, the fields of its JSON line and of its XML line
    /// are the same.
    #[test]
    fn windows_event_in_every_shape(event in windows_event()) {
        let line = serde_json::to_string(&event).unwrap();
        let from_line = sorted(reference::fast(line.as_bytes()).1);
        prop_assert_eq!(&from_line, &sorted(record_listing(&event)));
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?> ");
        to_xml("Event", &event["Event"], false, &mut xml);
        let (format, from_xml) = reference::fast(xml.as_bytes());
        prop_assert_eq!(format, Format::Xml, "{}", xml);
        // XML has no null: an empty Data is absent, as JSON's null is; a
        // blank text is absent in XML only (documented).
        let blank_text =
            |f: &OwnedField| f.attribute_dot.is_none() && f.value.iter().all(u8::is_ascii_whitespace);
        let from_line: Vec<_> = from_line.into_iter().filter(|f| !blank_text(f)).collect();
        prop_assert_eq!(from_line, sorted(from_xml), "{}", xml);
    }

    /// The key=value scanner against its twin, on arbitrary bytes from an
    /// alphabet that makes pairs, quotes and escapes likely.
    #[test]
    fn key_value_fast_equals_slow(line in prop::collection::vec(prop::sample::select(b"ab=\" \\\t'_.-\xff".to_vec()), 0..40)) {
        prop_assert!(reference::compare(&line));
    }

    /// Values rendered as sigrep renders records read back unchanged.
    #[test]
    fn key_value_round_trip(values in prop::collection::vec(windows_value(), 2..6)) {
        let pairs: serde_json::Map<String, Value> =
            values.iter().enumerate().map(|(i, v)| (format!("F{i}"), Value::from(v.clone()))).collect();
        let line = render_key_value(&json!({"Event": {"System": {}, "EventData": pairs}}));
        prop_assert!(reference::compare(line.as_bytes()));
        for (i, want) in values.iter().enumerate() {
            prop_assert_eq!(self::values(line.as_bytes(), &format!("F{i}")), [want.clone()], "{}", line);
        }
    }

    /// Any bytes: no panic, and the twin agrees where it judges.
    #[test]
    fn any_bytes(line in prop::collection::vec(any::<u8>(), 0..64), prefix in prop::sample::select(vec![&b""[..], b"{", b"{\"a\":", b"<Event>", b"a=1 b=", b"<?xml ?><Event><A x=\""])) {
        let line = [prefix, &line].concat();
        reference::compare(&line);
    }
}

/// Hundreds of names asked of one line, twice each, prepared and not: the
/// index of names asked grows past its first slots and still finds each,
/// with the values a lookup of the name alone finds; the next line starts
/// over.
#[test]
fn many_names_asked_of_one_line() {
    let pairs: Vec<String> = (0..400).map(|i| format!("k{i}=v{i}")).collect();
    let line = pairs.join(" ");
    let mut scratch = Scratch::default();
    let mut event = Event::new(line.as_bytes(), &mut scratch);
    for round in 0..2 {
        for i in (0..420).rev() {
            let name = format!("K{i}");
            let want: Vec<Vec<u8>> =
                if i < 400 { vec![format!("v{i}").into_bytes()] } else { Vec::new() };
            let got: Vec<Vec<u8>> = event.values(&name).map(<[u8]>::to_vec).collect();
            assert_eq!(got, want, "{name}, round {round}");
            let prepared = FieldName::new(&name);
            let got: Vec<Vec<u8>> = event.field_values(&prepared).map(<[u8]>::to_vec).collect();
            assert_eq!(got, want, "{name} prepared, round {round}");
        }
    }
    let mut event = Event::new(b"k1=other k2=x", &mut scratch);
    assert_eq!(event.values("k1").collect::<Vec<_>>(), [b"other"]);
    assert!(!event.has_field(&FieldName::new("k3")));
}
