-- name: churn
-- description: Portfolio churn: logo and revenue churn rate per period (clients active at its start that churned in it), and CLTV at period end = average MRR of active clients / (average monthly churn rate over the 12 months before period end / 100)
-- scope: portfolio
-- param trend_start: date
-- param period_start: date
-- kpi: churn_rate unit=percent show=export no_data="no clients" label="Logo churn"
-- kpi: revenue_churn_rate unit=percent show=export no_data="no clients" label="Revenue churn"
-- kpi: active_at_start unit=count show=export no_data="no clients" label="Active clients at period start"
-- kpi: churned unit=count show=export no_data="no clients" label="Clients churned"
-- kpi: active_at_end unit=count show=export no_data="no clients" label="Active clients at period end"
-- kpi: average_mrr unit=money show=export no_data="no clients" label="Average MRR"
-- kpi: average_monthly_churn_12m unit=percent show=export no_data="no clients" label="Average monthly churn, 12 months"
-- kpi: cltv unit=money show=export no_data="no churn in 12 months" label="Client lifetime value"
-- section: portfolio_churn
WITH bounds AS (
    SELECT DISTINCT period, period_end FROM periods
    WHERE period BETWEEN $trend_start AND $period_start
),
period_churn AS (
    SELECT b.period,
           churn_rate(c.onboarded_on, c.churned_on, b.period, b.period_end) AS churn_rate,
           revenue_churn_rate(c.onboarded_on, c.churned_on, c.mrr, b.period, b.period_end) AS revenue_churn_rate,
           count(*) FILTER (WHERE c.onboarded_on < b.period
                            AND (c.churned_on IS NULL OR c.churned_on >= b.period)) AS active_at_start,
           count(*) FILTER (WHERE c.onboarded_on < b.period AND c.churned_on >= b.period
                            AND c.churned_on < b.period_end) AS churned
    FROM clients c CROSS JOIN bounds b
    GROUP BY b.period
),
monthly_churn AS (
    SELECT m.month, churn_rate(c.onboarded_on, c.churned_on, m.month, m.next_month) AS rate
    FROM clients c
    CROSS JOIN (SELECT month, CAST(month + INTERVAL '1 month' AS DATE) AS next_month FROM periods
                WHERE month >= CAST($trend_start - INTERVAL '12 months' AS DATE)
                  AND month <= $period_start + INTERVAL '3 months') m
    GROUP BY m.month
),
lifetime AS (
    SELECT b.period,
           avg(c.mrr) FILTER (WHERE c.onboarded_on < b.period_end
                              AND (c.churned_on IS NULL OR c.churned_on >= b.period_end)) AS average_mrr,
           count(*) FILTER (WHERE c.onboarded_on < b.period_end
                            AND (c.churned_on IS NULL OR c.churned_on >= b.period_end)) AS active_at_end
    FROM clients c CROSS JOIN bounds b
    GROUP BY b.period
),
trailing AS (
    SELECT b.period, avg(m.rate) AS average_monthly_churn_12m
    FROM bounds b JOIN monthly_churn m
      ON m.month < b.period_end AND m.month >= CAST(b.period_end - INTERVAL '12 months' AS DATE)
    GROUP BY b.period
)
SELECT pc.period,
       pc.churn_rate,
       pc.revenue_churn_rate,
       pc.active_at_start,
       pc.churned,
       l.active_at_end,
       l.average_mrr,
       t.average_monthly_churn_12m,
       l.average_mrr / (nullif(t.average_monthly_churn_12m, 0) / 100.0) AS cltv
FROM period_churn pc
JOIN lifetime l ON l.period = pc.period
LEFT JOIN trailing t ON t.period = pc.period
ORDER BY pc.period
