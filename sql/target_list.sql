-- target_list: the ranked lists of {{ ranked }} (target_rank for the territories,
-- match_rank for a profile's radius search) with everything a counselor reads
-- about each company: identity, address, activity, size, flags, reasons, last offers seen
-- before $as_of. A view: the publish stage streams it into <run>/targets.parquet with
-- COPY (ciblage/publish/targets.py; schema: docs/outputs.md), never holding all lists.
-- {{ offers }} and {{ links }} are offre and offre_siret_link, or empty relations with their
-- columns when a deployment has none; {{ tranches }} maps INSEE headcount codes to French
-- labels (data/reference/tranches-effectifs.json). {{ as_of }} (a DATE literal) and
-- {{ last_offers }} are substituted: a view cannot hold prepared parameters.
-- {{ etablissement }}: the etablissement table, or a territory run's départements of it
-- (stored sorted by département: a rerun reads its own row groups, not all of France's);
-- {{ scores }}: score_etablissement, or a territory run's départements of it.
CREATE OR REPLACE TEMP VIEW target_list AS
WITH listed AS (SELECT DISTINCT siret FROM {{ ranked }}),
-- the listed companies' rows only, before the joins below: a join's hash table is then
-- built on a few million rows, never on all of France's establishments or legal units
est AS MATERIALIZED (SELECT * FROM {{ etablissement }} WHERE siret IN (SELECT siret FROM listed)),
ul AS (SELECT * FROM unite_legale WHERE siren IN (SELECT siren FROM est)),
-- reasons: computed for the listed establishments only (scoring/reason_table.py)
sc AS (SELECT s.siret, s.hiring_potential, s.p_hire, r.reasons FROM {{ scores }} s
       LEFT JOIN etablissement_reason r USING (siret)
       WHERE s.as_of = {{ as_of }} AND s.siret IN (SELECT siret FROM listed)),
offers AS (
    SELECT l.siret, o.offre_id, CAST(o.date_creation AS DATE) AS date_offre, o.intitule,
           o.code_rome, o.type_contrat, coalesce(o.entreprise_adaptee, false) AS adaptee,
           o.contact_url, o.contact_courriel, o.contact_telephone, o.contact_adresse,
           o.site_web
    FROM {{ links }} l
    JOIN {{ offers }} o USING (offre_id)
    WHERE l.siret IN (SELECT siret FROM listed)
      AND CAST(o.date_creation AS DATE) < {{ as_of }}
),
offer_stats AS (
    SELECT siret,
        count(*) FILTER (WHERE date_offre >= {{ as_of }} - INTERVAL 12 MONTH)
            AS offers_12m,
        bool_or(adaptee) AS entreprise_adaptee,
        list(struct_pack(date_offre := date_offre, intitule := intitule,
                         code_rome := code_rome, type_contrat := type_contrat)
             ORDER BY date_offre DESC, offre_id)[1:{{ last_offers }}] AS last_offers
    FROM offers GROUP BY siret
),
-- How to reach the company: the channels of its latest offer that published one (public
-- offers only, filtered at ingest by ciblage/contacts.py), with that offer's date; the
-- website from the latest offer giving one.
contact AS (
    SELECT siret,
        arg_max(struct_pack(d := date_offre, u := contact_url, c := contact_courriel,
                            t := contact_telephone, a := contact_adresse),
                (date_offre, offre_id))
            FILTER (WHERE coalesce(contact_url, contact_courriel, contact_telephone,
                                   contact_adresse) IS NOT NULL) AS k,
        arg_max(struct_pack(w := site_web, d := date_offre), (date_offre, offre_id))
            FILTER (WHERE site_web IS NOT NULL) AS sw
    FROM offers GROUP BY siret
),
offer_rome AS (
    SELECT siret, code_rome, count(*) AS offers_12m_rome
    FROM offers WHERE date_offre >= {{ as_of }} - INTERVAL 12 MONTH
    GROUP BY ALL
),
-- every company field once per listed establishment, before the list rows: joined to the
-- rows by siret, this hash table is built on the companies (392 k nationally), where the
-- rows' joins built theirs on the 4.5 M list rows (the legal units' join alone took 6 of
-- the lists' 15 seconds)
company AS MATERIALIZED (
    SELECT
        e.siret, e.siren,
        CAST(s.hiring_potential AS INTEGER) AS hiring_potential_etablissement,
        CAST(s.p_hire AS DOUBLE) AS p_hire_etablissement,
        coalesce(s.reasons, []::VARCHAR[]) AS reasons,
        coalesce(nullif(ul.denomination, ''),
                 nullif(trim(concat_ws(' ', ul.prenom, ul.nom)), ''),
                 nullif(e.enseigne, ''), nullif(e.denomination_usuelle, ''), e.siret) AS name,
        coalesce(nullif(e.enseigne, ''), nullif(e.denomination_usuelle, '')) AS enseigne,
        e.adresse AS address, e.code_postal, e.code_commune, e.libelle_commune AS commune,
        e.code_departement, e.naf_code, n.libelle AS naf_label,
        e.tranche_effectifs, tl.label AS tranche_effectifs_label,
        ul.categorie_entreprise, ul.categorie_juridique,
        coalesce(left(ul.categorie_juridique, 1) IN ('4', '7'), false) AS is_public,
        coalesce(ul.is_ess, false) AS is_ess,
        coalesce(os.entreprise_adaptee, false) AS is_entreprise_adaptee,
        coalesce(ul.societe_mission, false) AS is_societe_mission,
        coalesce(e.is_siege, false) AS is_siege,
        e.date_creation,
        -- no precise point: the commune's centre, flagged geo_precise = false (maps say so)
        coalesce(e.latitude, rc.latitude) AS latitude,
        coalesce(e.longitude, rc.longitude) AS longitude,
        coalesce(e.geo_precise, false) AND e.latitude IS NOT NULL AS geo_precise,
        coalesce(os.offers_12m, 0) AS offers_12m,
        CASE WHEN os.last_offers IS NULL THEN []::STRUCT(date_offre DATE, intitule VARCHAR,
            code_rome VARCHAR, type_contrat VARCHAR)[] ELSE os.last_offers END AS last_offers,
        ct.k.u AS contact_url, ct.k.c AS contact_courriel, ct.k.t AS contact_telephone,
        ct.k.a AS contact_adresse, ct.sw.w AS site_web,
        coalesce(ct.k.d, ct.sw.d) AS contact_date
    FROM est e
    LEFT JOIN ul ON ul.siren = e.siren
    LEFT JOIN sc s ON s.siret = e.siret
    LEFT JOIN ref_naf n ON n.naf_code = e.naf_code
    LEFT JOIN ref_commune rc ON rc.code_commune = e.code_commune
    LEFT JOIN offer_stats os ON os.siret = e.siret
    LEFT JOIN contact ct ON ct.siret = e.siret
    LEFT JOIN {{ tranches }} tl ON tl.code = e.tranche_effectifs
)
SELECT
    t.territory_level, t.territory_code, t.territory_name, t.code_rome, t.rome_label,
    t.rank, t.siret, c.siren,
    CAST(t.hiring_potential AS INTEGER) AS hiring_potential,
    CAST(t.stars AS INTEGER) AS stars,
    CAST(t.expected_hires AS DOUBLE) AS expected_hires_6m,
    c.hiring_potential_etablissement, c.p_hire_etablissement, c.reasons, c.name, c.enseigne,
    c.address, c.code_postal, c.code_commune, c.commune, c.code_departement, c.naf_code,
    c.naf_label, c.tranche_effectifs, c.tranche_effectifs_label, c.categorie_entreprise,
    c.categorie_juridique, c.is_public, c.is_ess, c.is_entreprise_adaptee,
    c.is_societe_mission, c.is_siege, c.date_creation, c.latitude, c.longitude,
    c.geo_precise, c.offers_12m,
    coalesce(orr.offers_12m_rome, 0) AS offers_12m_rome,
    c.last_offers, c.contact_url, c.contact_courriel, c.contact_telephone,
    c.contact_adresse, c.site_web, c.contact_date,
    t.in_cooldown, t.cooldown_until, t.cooldown_reason,
    {{ as_of }} AS as_of
FROM {{ ranked }} t
JOIN company c USING (siret)
LEFT JOIN offer_rome orr ON orr.siret = t.siret AND orr.code_rome = t.code_rome;
