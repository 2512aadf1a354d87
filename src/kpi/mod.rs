//! The KPI catalogue: every KPI the reports show and the export writes, with its
//! label, value column, n column, unit and scope, as the saved queries' headers
//! declare them (`-- kpi: column n=column_n unit=percent label="Text"`, see
//! [`crate::saved_queries::declaration`]). A KPI reaches the client report (client
//! scope), the index (portfolio) or the team report (internal), and the export,
//! without code changes.

pub use crate::saved_queries::declaration::Shown;
use crate::saved_queries::declaration::{Goal, IndexColumn, NoData};
use crate::saved_queries::{SavedQuery, Scope};
use crate::unit::Format;

/// One KPI.
#[derive(Debug, Clone, PartialEq)]
pub struct Kpi {
    /// The name templates use (`kpi.<key>`): the value column.
    pub key: String,
    pub label: String,
    /// The saved query and its value column.
    pub query: String,
    pub column: String,
    /// The column holding how many rows the value is computed from.
    pub n_column: Option<String>,
    pub unit: Format,
    pub scope: Scope,
    /// What the report says when there is no value.
    pub no_data: NoData,
    pub shown: Shown,
    /// Its place in the headline table.
    pub order: Option<i64>,
    /// The optional table it needs.
    pub needs: Option<String>,
    pub goal: Option<Goal>,
    pub index: Option<IndexColumn>,
}

impl Kpi {
    /// The name in the export: `<query>.<column>`.
    pub fn export_name(&self) -> String {
        format!("{}.{}", self.query, self.column)
    }

    /// What the report says in place of a missing value in `period_noun` ("month").
    pub fn no_data_sentence(&self, period_noun: &str) -> String {
        if self.no_data.every_period {
            self.no_data.sentence.clone()
        } else {
            format!("{} this {period_noun}", self.no_data.sentence)
        }
    }
}

/// The catalogue of a run: each query's declared KPIs, in file order and line
/// order.
pub fn catalogue(queries: &[SavedQuery]) -> Vec<Kpi> {
    queries
        .iter()
        .flat_map(|query| {
            query.kpis.iter().map(|declared| Kpi {
                key: declared.column.clone(),
                label: declared
                    .label
                    .clone()
                    .unwrap_or_else(|| declared.column.clone()),
                query: query.name.clone(),
                column: declared.column.clone(),
                n_column: declared.n_column.clone(),
                unit: declared.unit,
                scope: query.scope,
                no_data: declared.no_data.clone().unwrap_or_else(|| NoData {
                    sentence: "no data".to_string(),
                    every_period: false,
                }),
                shown: declared.shown,
                order: declared.order,
                needs: declared.needs.clone(),
                goal: declared.goal,
                index: declared.index.clone(),
            })
        })
        .collect()
}

/// The index's columns, left to right.
pub fn index_columns(kpis: &[Kpi]) -> Vec<&Kpi> {
    let mut columns: Vec<&Kpi> = kpis.iter().filter(|k| k.index.is_some()).collect();
    columns.sort_by_key(|k| k.index.as_ref().map(|i| i.place));
    columns
}

/// Without the optional `table`, the KPIs that need it say so instead of their own
/// sentence ("no tickets resolved this month"): they have no value in any period,
/// and never a zero.
pub fn without_table(kpis: &mut [Kpi], table: &str) {
    for kpi in kpis
        .iter_mut()
        .filter(|k| k.needs.as_deref() == Some(table))
    {
        kpi.no_data = NoData {
            sentence: crate::data::schema::absent_sentence(table),
            every_period: true,
        };
    }
}
