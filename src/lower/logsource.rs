//! Which Windows events a rule's logsource fits (DESIGN 2.3, Logsources).
//!
//! An event with a `Channel` field is a Windows event, and its logsource
//! is known: a rule runs on it only where SigmaHQ's own mapping says its
//! logsource fits. The mapping is `data/logsources.tsv`, written by
//! `scripts/gen_logsources.py` from pySigma's `sysmon` and
//! `windows-logsources` pipelines (the reference's own; its header states
//! the lookup): a service names channels, a Sysmon category names the
//! Sysmon channel and event ids. A rule for another product (`linux`,
//! `aws`, ...) does not run on Windows events. A Windows rule whose
//! logsource the mapping does not name runs on every Windows event (as in
//! pySigma). Events without a `Channel` are judged by their fields alone,
//! except where a plain line's shape tells its source (a host's syslog, a
//! web server's error log: [`crate::event::text_source`]): a rule for
//! another product does not run there.

use std::sync::LazyLock;

use super::sigma::Predicate;

/// The mapping, built into the binary.
const MAPPING: &str = include_str!("../../data/logsources.tsv");

/// The pipeline whose rows apply (the reference's).
const PIPELINE: &str = "sysmon+windows-logsources";

/// One row of the mapping.
#[derive(Debug)]
struct Row {
    product: String,
    category: String,
    service: String,
    channels: Vec<String>,
    event_ids: Vec<String>,
    others: Vec<(String, Vec<String>)>,
}

static ROWS: LazyLock<Vec<Row>> = LazyLock::new(|| {
    let list = |s: &str| -> Vec<String> {
        if s == "*" {
            Vec::new()
        } else {
            s.split('|').map(str::to_string).collect()
        }
    };
    MAPPING
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("product\t") && !l.is_empty())
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let [product, category, service, channel, event_id, other, pipeline] = cols[..] else {
                return None;
            };
            (pipeline == PIPELINE).then(|| Row {
                product: product.to_string(),
                category: category.to_string(),
                service: service.to_string(),
                channels: list(channel),
                event_ids: list(event_id),
                others: if other == "-" {
                    Vec::new()
                } else {
                    other
                        .split(';')
                        .filter_map(|f| f.split_once('='))
                        .map(|(k, v)| (k.to_string(), v.split('|').map(str::to_string).collect()))
                        .collect()
                },
            })
        })
        .collect()
});

/// What a rule's logsource requires of a Windows event.
#[derive(Clone, Debug, PartialEq)]
pub enum WindowsGate {
    /// The rule is for another product: it never runs on Windows events.
    Never,
    /// The event's channel is one of `channels` (any when empty), its
    /// EventID one of `event_ids` (any when empty), and each other field
    /// one of its values.
    Fits {
        /// Accepted channels.
        channels: Vec<String>,
        /// Accepted event ids.
        event_ids: Vec<String>,
        /// Other fields and their accepted values.
        others: Vec<(String, Vec<String>)>,
    },
}

/// The gate of a rule with a `product` on lines without a `Channel`.
pub fn text_gate(logsource: &[(String, String)]) -> Option<Predicate> {
    logsource
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("product"))
        .map(|(_, product)| Predicate::Product(product.to_ascii_lowercase()))
}

/// The gate of a rule with these `logsource` entries, or `None` when it
/// runs on every Windows event (no product, or a Windows logsource the
/// mapping does not name).
pub fn windows_gate(logsource: &[(String, String)]) -> Option<Predicate> {
    let get = |key: &str| {
        logsource.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    };
    let product = get("product")?;
    if !product.eq_ignore_ascii_case("windows") {
        return Some(Predicate::Windows(WindowsGate::Never));
    }
    let (category, service) = (get("category"), get("service"));
    let fits = |want: &str, have: Option<&str>| {
        want == "*" || have.is_some_and(|h| h.eq_ignore_ascii_case(want))
    };
    let matching: Vec<&Row> = ROWS
        .iter()
        .filter(|r| {
            r.product.eq_ignore_ascii_case(product)
                && fits(&r.category, category)
                && fits(&r.service, service)
        })
        .collect();
    // A row that names the category wins over one that does not.
    let best: Vec<&Row> = if matching.iter().any(|r| r.category != "*") {
        matching.into_iter().filter(|r| r.category != "*").collect()
    } else {
        matching
    };
    let row = best.first()?;
    Some(Predicate::Windows(WindowsGate::Fits {
        channels: row.channels.clone(),
        event_ids: row.event_ids.clone(),
        others: row.others.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(pairs: &[(&str, &str)]) -> Option<Predicate> {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        windows_gate(&pairs)
    }

    #[test]
    fn sysmon_categories_and_services_map_to_channels() {
        let Some(Predicate::Windows(WindowsGate::Fits { channels, event_ids, .. })) =
            gate(&[("product", "windows"), ("category", "process_creation")])
        else {
            panic!("process_creation has a gate");
        };
        assert_eq!(channels, ["Microsoft-Windows-Sysmon/Operational"]);
        assert_eq!(event_ids, ["1"]);
        let Some(Predicate::Windows(WindowsGate::Fits { channels, event_ids, .. })) =
            gate(&[("product", "windows"), ("service", "security")])
        else {
            panic!("security has a gate");
        };
        assert_eq!(channels, ["Security"]);
        assert!(event_ids.is_empty());
        assert_eq!(gate(&[("product", "linux")]), Some(Predicate::Windows(WindowsGate::Never)));
        assert_eq!(gate(&[("category", "proxy")]), None);
        assert_eq!(gate(&[("product", "windows"), ("category", "no_such_category")]), None);
    }
}
