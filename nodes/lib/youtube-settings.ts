/** The settings the YouTube dialogs that make a video share (youtube-live, youtube-upload). */
export interface YouTubeVideoSettings {
  id: string;
  name?: string;
  account?: string;
  title?: string;
  description?: string;
  privacy?: string;
  madeForKids?: boolean;
}
