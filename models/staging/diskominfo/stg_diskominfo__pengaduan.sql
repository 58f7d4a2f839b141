-- One row per complaint ticket, as the latest SP4N-LAPOR! export shows it. The export is a snapshot
-- (the whole list each time; catalog: no cursor), so only the latest run (its batches) is read, and a
-- ticket's late status update arrives simply as a newer export. Within one export a ticket can come
-- once per status it had (the export joins the status history): the newest updated_at wins.
-- Privacy: the reporter's NIK becomes its keyed pseudonym and the name is not selected at all. The
-- free text (judul, isi_laporan) stays here, in the restricted zone: no model downstream selects it;
-- only flags saying what it holds (a NIK, a phone number, a formula) go on.
with

source as (
    select raw_batches.*
    from {{ source('raw_diskominfo', 'pengaduan') }} as raw_batches
    -- The latest run: a snapshot may come in several batches (an API's pages, a CKAN resource over 100,000
    -- rows), committed as <run id>.<part>; the build reads only complete runs (ingestion/ledger.py, "Runs").
    where split_part(raw_batches._batch_id, '.', 1) = (
        select max(split_part(all_batches._batch_id, '.', 1)) as latest_run_id
        from {{ source('raw_diskominfo', 'pengaduan') }} as all_batches
    )
),

cleaned as (
    select
        *,
        -- A NIK typed with spaces or dots is the same NIK; anything that is not then 16 digits is none.
        regexp_replace(trim(coalesce(nik_pelapor, '')), '[ .]', '', 'g') as nik_angka,
        -- Category as a key: older versions of the system wrote it in capitals or in other words.
        upper(regexp_replace(trim(kategori), '\s+', ' ', 'g')) as kategori_kunci,
        -- A NIK in the text, in any of its spellings (16 digits, or 4x4 separated by spaces or dots).
        regexp_matches(
            coalesce(isi_laporan, '') || ' ' || coalesce(judul, ''),
            '(^|[^0-9])[0-9]{4}[ .]?[0-9]{4}[ .]?[0-9]{4}[ .]?[0-9]{4}([^0-9]|$)'
        ) as is_isi_memuat_nik,
        -- A mobile number (08.., +62 8..) in the text; NIKs are blanked first: a spaced NIK can look like one.
        regexp_matches(
            regexp_replace(
                coalesce(isi_laporan, '') || ' ' || coalesce(judul, ''),
                '[0-9]{4}[ .]?[0-9]{4}[ .]?[0-9]{4}[ .]?[0-9]{4}', ' ', 'g'
            ),
            '(^|[^0-9])(\+62|0)[ -]?8[0-9]{1,2}[ -]?[0-9]{3,4}[ -]?[0-9]{3,5}([^0-9]|$)'
        ) as is_isi_memuat_telepon
    from source
),

renamed as (
    select
        ---------- ids
        nomor_tiket,
        case
            when regexp_full_match(nik_angka, '[0-9]{16}') then satudata_pseudonym(nik_angka)
        end as nik_pseudonim,
        satudata_pseudonym_key_id() as kunci_pseudonim_id,

        ---------- strings
        case
            when kategori_kunci = 'INFRASTRUKTUR' then 'Infrastruktur'
            when kategori_kunci = 'KESEHATAN' then 'Kesehatan'
            when kategori_kunci = 'PENDIDIKAN' then 'Pendidikan'
            when kategori_kunci in ('KEPENDUDUKAN', 'ADMINISTRASI KEPENDUDUKAN', 'ADMINDUK') then 'Kependudukan'
            when kategori_kunci in ('LINGKUNGAN', 'LINGKUNGAN HIDUP') then 'Lingkungan'
            when kategori_kunci in ('BANSOS', 'BANTUAN SOSIAL') then 'Bansos'
            when kategori_kunci = 'PELAYANAN PUBLIK' then 'Pelayanan Publik'
            -- Unknown categories are counted under Lainnya, flagged (is_kategori_dikenal) for review.
            else 'Lainnya'
        end as kategori,
        kategori as kategori_asli,
        status,
        kecamatan as nama_kecamatan_pelapor,
        desa as nama_desa_pelapor,
        judul,
        isi_laporan,

        ---------- numerics
        cast(year(tanggal_laporan) as integer) as tahun_laporan,

        ---------- booleans
        kategori_kunci in (
            'INFRASTRUKTUR', 'KESEHATAN', 'PENDIDIKAN', 'KEPENDUDUKAN', 'ADMINISTRASI KEPENDUDUKAN', 'ADMINDUK',
            'LINGKUNGAN', 'LINGKUNGAN HIDUP', 'BANSOS', 'BANTUAN SOSIAL', 'PELAYANAN PUBLIK', 'LAINNYA', 'LAIN-LAIN',
            'LAIN LAIN'
        ) as is_kategori_dikenal,
        not regexp_full_match(nik_angka, '[0-9]{16}') as is_tanpa_nik,
        is_isi_memuat_nik,
        is_isi_memuat_telepon,
        -- Text Excel would run as a formula when the CSV is opened (CSV injection).
        regexp_matches(coalesce(isi_laporan, '') || chr(10) || coalesce(judul, ''), '(^|\n)\s*[=+@]')
            as is_isi_berformula,

        ---------- dates
        tanggal_laporan,

        ---------- timestamps
        -- WITA wall-clock time as the export writes it (the contract checked its shape).
        strptime(updated_at, '%d/%m/%Y %H:%M:%S') as diperbarui_pada,

        ---------- meta
        _batch_id,
        _loaded_at,
        _source_file,
        _source_row
    from cleaned
),

latest_status as (
    select *
    from renamed
    qualify row_number() over (partition by nomor_tiket order by diperbarui_pada desc, _source_row desc) = 1
)

select * from latest_status
