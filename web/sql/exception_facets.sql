-- Filter choices for the exceptions page: the values present in the history.
SELECT
    groupUniqArray(family) AS families,
    groupUniqArray(reason) AS reasons,
    groupUniqArray(site) AS sites,
    groupUniqArray(owner) AS owners
FROM exception_history
