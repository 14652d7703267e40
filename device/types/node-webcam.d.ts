/** The part of node-webcam's API the webcam source uses (the package ships no types). */
declare module 'node-webcam' {
  namespace NodeWebcam {
    interface Options {
      width: number;
      height: number;
      quality: number;
      delay: number;
      saveShots: boolean;
      output: 'jpeg' | 'png' | 'bmp';
      device: string | false;
      callbackReturn: 'location' | 'buffer' | 'base64';
      verbose: boolean;
    }
    interface Webcam {
      capture(location: string | null, callback: (err: Error | null, data: unknown) => void): void;
    }
    function create(options: Options): Webcam;
  }
  export default NodeWebcam;
}
