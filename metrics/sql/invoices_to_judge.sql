-- The POs for the rules to judge as of {as_of} (with every PO billed together with them):
-- those quoted by the invoices first received in the periods [starts[i], ends[i]) whose
-- outcome their kept row does not give (kpi_invoices_as_of).
WITH
    {starts:Array(DateTime64(3, 'UTC'))} AS starts,
    {ends:Array(DateTime64(3, 'UTC'))} AS ends
SELECT groupUniqArray(po_number)
FROM (
    SELECT po_numbers
    FROM kpi_invoices_as_of(as_of = {as_of:DateTime64(3, 'UTC')},
        since = {since:DateTime64(3, 'UTC')}, thresholds = {thresholds:String})
    WHERE kept_reason IS NULL AND first_at >= arrayMin(starts) AND first_at < arrayMax(ends)
        AND arrayExists((s, e) -> first_at >= s AND first_at < e, starts, ends)
)
ARRAY JOIN po_numbers AS po_number
