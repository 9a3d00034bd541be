-- Pages an earlier trawl version marked `fetching` when it stopped go back to the
-- frontier once; nothing writes that state any more, so a resumed run no longer looks.
UPDATE run_pages SET state = 'pending' WHERE state = 'fetching';
