//! Support period (group 4): declared, not over at the check date, long enough, never shortened.

use super::prelude::*;

pub(super) fn support_declared(evidence: &Evidence<'_>) -> Outcome {
    let currents = evidence.current_products();
    if currents.is_empty() {
        return fail(NO_RELEASE, NO_RELEASE_FIX);
    }
    let missing: Vec<String> = currents
        .iter()
        .filter(|(_, _, claims)| claims.product.support.end.is_none())
        .map(|(envelope, _, _)| format!("{} declares no support end date", place(envelope)))
        .collect();
    if missing.is_empty() {
        pass(format!(
            "support ends on {}",
            product_support_end(evidence)
                .map(|d| d.to_string())
                .unwrap_or_default()
        ))
        .with_evidence(product_evidence(evidence))
    } else {
        fail(
            join(&missing),
            "ask the manufacturer to declare the support period (`support.end` in the product file) and re-sign the release",
        )
    }
}

pub(super) fn support_not_expired(evidence: &Evidence<'_>) -> Outcome {
    let Some(end) = product_support_end(evidence) else {
        return fail(
            "no support end date is declared by a trusted release attestation",
            "see `support.declared`",
        );
    };
    if end < evidence.date {
        fail(
            format!("support ended on {end}, before the check date {}", evidence.date),
            "do not place the product on the market: the manufacturer no longer provides security updates; ask for a release with an extended support period",
        )
        .with_evidence(product_evidence(evidence))
    } else {
        pass(format!(
            "support runs until {end}, after the check date {}",
            evidence.date
        ))
        .with_evidence(product_evidence(evidence))
    }
}

pub(super) fn support_minimum(evidence: &Evidence<'_>, config: &CheckConfig) -> Outcome {
    let years = config.min_years.unwrap_or(5);
    let Some(end) = product_support_end(evidence) else {
        return fail(
            "no support end date is declared by a trusted release attestation",
            "see `support.declared`",
        );
    };
    let Some(needed) = jiff::Span::new()
        .try_years(i64::from(years))
        .ok()
        .and_then(|span| evidence.date.checked_add(span).ok())
    else {
        return fail(
            format!("{years} years after {} is not a date", evidence.date),
            "lower `min-years` in the policy",
        );
    };
    if end < needed {
        fail(
            format!(
                "support ends on {end}, less than {years} years after placing on the market on {} (needs {needed} or later)",
                evidence.date
            ),
            "ask the manufacturer to extend the support period to the policy's minimum, or document why the expected use time is shorter",
        )
        .with_evidence(product_evidence(evidence))
    } else {
        pass(format!(
            "support ends on {end}, at least {years} years after {}",
            evidence.date
        ))
        .with_evidence(product_evidence(evidence))
    }
}

pub(super) fn support_never_shortened(evidence: &Evidence<'_>) -> Outcome {
    let currents = evidence.current_products();
    if currents.is_empty() {
        return fail(NO_RELEASE, NO_RELEASE_FIX);
    }
    let Some(end) = product_support_end(evidence) else {
        return fail(
            "no support end date is declared by a trusted release attestation",
            "see `support.declared`",
        );
    };
    let keys: BTreeSet<String> = currents
        .iter()
        .filter_map(|(_, _, claims)| product_key(&claims.product))
        .collect();
    let mut earlier: Vec<(Date, String)> = Vec::new();
    for record in evidence.history {
        if keys.contains(&record.product_key)
            && let Ok(date) = record.support_end.parse::<Date>()
        {
            earlier.push((
                date,
                format!(
                    "recorded in the ledger on {} for shipment `{}`",
                    record.checked_at, record.shipment
                ),
            ));
        }
    }
    for (envelope, _, claims) in evidence.products() {
        let same = product_key(&claims.product).is_some_and(|key| keys.contains(&key));
        let current = currents.iter().any(|(e, _, _)| std::ptr::eq(*e, envelope));
        if same
            && !current
            && let Some(date) = claims.product.support.end.and_then(to_date)
        {
            earlier.push((
                date,
                format!(
                    "declared by the earlier release attestation {}",
                    place(envelope)
                ),
            ));
        }
    }
    match earlier.iter().max_by_key(|(date, _)| *date) {
        Some((longest, source)) if *longest > end => fail(
            format!("the support period was shortened: it now ends on {end}, but ended on {longest} as {source}"),
            "a support period may be extended, never shortened: ask the manufacturer to restore the earlier end date",
        )
        .with_evidence(product_evidence(evidence)),
        Some((longest, _)) => pass(format!(
            "support ends on {end}, no earlier than the {} earlier record(s) (latest {longest})",
            earlier.len()
        )),
        None => pass(format!(
            "no earlier support period is known for this product; {end} is recorded now"
        )),
    }
}
