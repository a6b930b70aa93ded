// The archiver's guarantees on the real servers: PostgreSQL (concurrent sweeps on separate pools
// really race for rows) and MinIO.
import { archiverContract } from '../speed/archiver-contract.js';
import { openArchiveServers } from './archive-stores.js';

archiverContract('PostgreSQL and MinIO', openArchiveServers);
